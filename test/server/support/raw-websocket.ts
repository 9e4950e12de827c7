import WebSocket from "ws";

/** How a raw graphql-ws connection attempt ended up: acknowledged, closed, or refused at the upgrade. */
export type RawConnection =
  | { kind: "open"; socket: WebSocket; closed: Promise<{ code: number; reason: string }>; messages: Array<Record<string, any>> }
  | { kind: "closed"; code: number; reason: string }
  | { kind: "refused"; status: number; body: string };

export interface RawConnectOptions {
  /** Sent as connection_init's payload.authorization (`Bearer <token>`); null sends none. */
  token?: string | null;
  origin?: string;
  headers?: Record<string, string>;
}

/**
 * Opens a graphql-transport-ws socket by hand, sends connection_init and waits for the ack, a close
 * or an HTTP refusal of the upgrade; lets tests see close codes and statuses the client hides.
 */
export function connectRaw(wsUrl: string, options: RawConnectOptions = {}, timeoutMs = 10_000): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, "graphql-transport-ws", { origin: options.origin, headers: options.headers });
    const messages: Array<Record<string, any>> = [];
    let settled = false;
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no ack, close or refusal within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (connection: RawConnection) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(connection);
    };
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) =>
      socket.on("close", (code, reason) => {
        resolveClose({ code, reason: reason.toString() });
        settle({ kind: "closed", code, reason: reason.toString() });
      }),
    );
    socket.on("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => {
        settle({ kind: "refused", status: response.statusCode ?? 0, body });
        socket.terminate();
      });
    });
    socket.on("error", () => undefined); // reported through close or unexpected-response
    socket.on("open", () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: options.token ? { authorization: `Bearer ${options.token}` } : {} }));
    });
    socket.on("message", (data) => {
      const message = JSON.parse(data.toString()) as Record<string, any>;
      messages.push(message);
      if (message.type === "connection_ack") settle({ kind: "open", socket, closed, messages });
    });
  });
}

/** Sends a subscribe message on an acknowledged raw connection. */
export function subscribeRaw(socket: WebSocket, id: string, query: string, variables: Record<string, unknown> = {}): void {
  socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
}

/** Waits until a message matching `predicate` has arrived on a raw connection (or its socket closed). */
export async function waitForMessage(connection: Extract<RawConnection, { kind: "open" }>, predicate: (message: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = connection.messages.find(predicate);
    if (found) return found;
    if (connection.socket.readyState === WebSocket.CLOSED) throw new Error(`socket closed before the message came: ${JSON.stringify(connection.messages).slice(0, 500)}`);
    if (Date.now() > deadline) throw new Error(`no such message within ${timeoutMs} ms: ${JSON.stringify(connection.messages).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
