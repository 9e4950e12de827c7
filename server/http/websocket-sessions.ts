import type { GraphQLError } from "graphql";
import type { WebSocket } from "ws";
import { clientError } from "../graphql/errors.js";
import { REVOKED_TOKEN_REASON, type Principal } from "../services/tokens.js";

export interface WebSocketLimits {
  /** Open connections one token may hold on this server (SWAMP_WS_MAX_CONNECTIONS_PER_TOKEN). */
  maxConnectionsPerToken: number;
  /** Open connections without a valid token from one remote address (SWAMP_WS_MAX_CONNECTIONS_PER_ADDRESS). */
  maxConnectionsPerAddress: number;
  /** Operations (subscriptions, or queries in flight) at a time on one connection (SWAMP_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  maxSubscriptionsPerConnection: number;
  /** Bytes a connection may have waiting to be sent (queued batches and ws's bufferedAmount) before it is cut off as too slow (SWAMP_WS_MAX_BUFFERED_BYTES). */
  maxBufferedBytes: number;
  /** How often open connections' tokens are checked for a revocation made elsewhere (SWAMP_TOKEN_RECHECK_MS). */
  revocationCheckMs: number;
  /** How long a new connection may take to send its connection_init before it is closed with 4408 (SWAMP_WS_CONNECTION_INIT_WAIT_MS). */
  connectionInitWaitMs: number;
}

export const DEFAULT_WEBSOCKET_LIMITS: WebSocketLimits = {
  maxConnectionsPerToken: 20,
  maxConnectionsPerAddress: 20,
  maxSubscriptionsPerConnection: 50,
  maxBufferedBytes: 8 * 1024 * 1024,
  revocationCheckMs: 5_000,
  // graphql-ws's own 3 s closed connections of busy clients (a thousand opening at once on a loaded machine).
  connectionInitWaitMs: 10_000,
};

/** graphql-ws's own codes for "unauthorised" and "too many", with a reason that says which limit. */
export const CLOSE_TOKEN_REVOKED = 4401;
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;

interface Session {
  key: string;
  tokenId: string | null;
}

/**
 * The open WebSocket connections of one server: admits each under its token's (or, without a
 * valid token, its remote address's) connection limit, bounds the operations per connection, and
 * closes a token's connections when it is revoked — at once when revoked through this server, and
 * within `revocationCheckMs` when revoked through another replica (one query for all open tokens).
 */
export class WebSocketSessions {
  private readonly sessions = new Map<WebSocket, Session>();
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    readonly limits: WebSocketLimits,
    /** Of these token ids, the ones no longer valid (revoked or gone). */
    private readonly invalidTokenIds: (tokenIds: string[]) => Promise<string[]>,
    private readonly log: (line: string) => void,
  ) {}

  /** Registers an initialised connection, or closes it (4429) when its token or address is at its limit. */
  admit(socket: WebSocket, principal: Principal, remoteAddress: string | undefined): boolean {
    const byToken = principal.kind === "token";
    const key = byToken ? `token:${principal.tokenId ?? "deployment admin"}` : `address:${remoteAddress ?? "unknown"}`;
    const limit = byToken ? this.limits.maxConnectionsPerToken : this.limits.maxConnectionsPerAddress;
    const open = this.counts.get(key) ?? 0;
    if (open >= limit) {
      socket.close(CLOSE_TOO_MANY_CONNECTIONS, `too many WebSocket connections ${byToken ? "for this token" : "from this address"} (limit ${limit})`);
      return false;
    }
    this.counts.set(key, open + 1);
    this.sessions.set(socket, { key, tokenId: byToken ? principal.tokenId : null });
    socket.once("close", () => this.release(socket));
    if (byToken && principal.tokenId !== null) this.startChecking();
    return true;
  }

  /** Why one more operation may not start on a connection already running `active` (this one included). */
  operationRefusal(active: number): GraphQLError | null {
    const limit = this.limits.maxSubscriptionsPerConnection;
    if (active <= limit) return null;
    return clientError("TOO_MANY_SUBSCRIPTIONS", `at most ${limit} operations at a time on one connection; complete one or open another connection`);
  }

  /** Closes this server's connections of a token just revoked. */
  tokenRevoked(tokenId: string): void {
    for (const [socket, session] of this.sessions) if (session.tokenId === tokenId) socket.close(CLOSE_TOKEN_REVOKED, REVOKED_TOKEN_REASON);
  }

  /** Looks up every open connection's token once and closes those revoked meanwhile. */
  async checkRevocations(): Promise<void> {
    const tokenIds = [...new Set([...this.sessions.values()].flatMap((session) => (session.tokenId === null ? [] : [session.tokenId])))];
    if (tokenIds.length === 0) return;
    for (const tokenId of await this.invalidTokenIds(tokenIds)) this.tokenRevoked(tokenId);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private startChecking(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = true;
      this.checkRevocations()
        .catch((error: unknown) => this.log(`token revocation check failed (retried in ${this.limits.revocationCheckMs} ms): ${String(error)}`))
        .finally(() => (this.sweeping = false));
    }, this.limits.revocationCheckMs);
    this.timer.unref();
  }

  private release(socket: WebSocket): void {
    const session = this.sessions.get(socket);
    if (!session) return;
    this.sessions.delete(socket);
    const left = (this.counts.get(session.key) ?? 1) - 1;
    if (left > 0) this.counts.set(session.key, left);
    else this.counts.delete(session.key);
    if (![...this.sessions.values()].some((other) => other.tokenId !== null)) this.close();
  }
}
