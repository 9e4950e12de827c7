import type { WebSocket, WebSocketServer } from "ws";

/** Close code for a client that does not read fast enough (its backlog passed the limit). */
export const CLOSE_TOO_SLOW = 4413;
/** How long a slow client gets to complete the closing handshake before its socket is dropped. */
const CLOSE_GRACE_MS = 5_000;

const socketsByContext = new WeakMap<object, WebSocket>();
const limitsBySocket = new WeakMap<WebSocket, number>();
const rawBySocket = new WeakMap<WebSocket, Map<string, Buffer>>();
const stopsBySocket = new WeakMap<WebSocket, Set<() => void>>();
let rawCounter = 0;
let cutOffs = 0;

/** Sockets cut off as too slow so far, for tests and diagnostics. */
export function slowSocketCutOffs(): number {
  return cutOffs;
}

/** Remembers which socket a subscription's GraphQL context serves. */
export function bindSocket(context: object, socket: WebSocket): void {
  socketsByContext.set(context, socket);
}

export function socketOf(context: object): WebSocket | null {
  return socketsByContext.get(context) ?? null;
}

/**
 * Registers work to stop the moment this socket is cut off as too slow, before its close handshake
 * (which waits behind everything buffered) completes; returns the function that unregisters it.
 */
export function stopWhenCutOff(socket: WebSocket, stop: () => void): () => void {
  let stops = stopsBySocket.get(socket);
  if (!stops) stopsBySocket.set(socket, (stops = new Set()));
  stops.add(stop);
  return () => stops.delete(stop);
}

/** Closes a client that fell `backlogBytes` behind (4413, with the figure), stops its work at once, and drops it if it does not answer. */
export function cutOffSlowSocket(socket: WebSocket, backlogBytes: number): void {
  if (socket.readyState !== socket.OPEN) return;
  const limit = limitsBySocket.get(socket) ?? 0;
  cutOffs++;
  socket.close(CLOSE_TOO_SLOW, `too slow: ${backlogBytes} bytes buffered (limit ${limit})`);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  const stops = stopsBySocket.get(socket);
  stopsBySocket.delete(socket);
  for (const stop of stops ?? []) stop();
}

export function backlogLimitOf(socket: WebSocket): number {
  return limitsBySocket.get(socket) ?? Number.POSITIVE_INFINITY;
}

/**
 * Registers a payload serialised elsewhere (once for every subscriber, as UTF-8 JSON) for this
 * socket; returns the string token to put in its place in the `next` message. The socket's `send`
 * splices the shared buffer into the envelope, so per subscriber graphql-ws serialises only the
 * small envelope and the payload is not encoded again.
 */
export function rawPlaceholder(socket: WebSocket, json: Buffer): string {
  let pending = rawBySocket.get(socket);
  if (!pending) rawBySocket.set(socket, (pending = new Map()));
  const token = `@@swamp-raw:${++rawCounter}@@`;
  pending.set(token, json);
  return token;
}

/**
 * Must be registered before graphql-ws's own handler: bounds each socket's send buffer (a send
 * that leaves more than `maxBufferedBytes` in ws's buffer cuts the client off) and splices
 * pre-serialised payloads into outgoing messages.
 */
export function watchLiveSockets(server: WebSocketServer, maxBufferedBytes: number): void {
  server.on("connection", (socket: WebSocket) => {
    limitsBySocket.set(socket, maxBufferedBytes);
    const send = socket.send.bind(socket) as (data: unknown, options: { fin?: boolean; binary?: boolean }, callback?: (error?: Error) => void) => void;
    socket.send = ((data: unknown, optionsOrCallback?: unknown, callback?: (error?: Error) => void) => {
      const done = typeof optionsOrCallback === "function" ? (optionsOrCallback as (error?: Error) => void) : callback;
      const spliced = typeof data === "string" ? spliceRaw(socket, data) : null;
      // One frame, one write to the socket: copying the payload once costs less than the system
      // calls of sending it as three fragments (a thousand sockets, ten batches a second).
      if (spliced) send(Buffer.concat([Buffer.from(spliced.before), spliced.payload, Buffer.from(spliced.after)]), { binary: false }, done);
      else send(data, {}, done);
      if (socket.bufferedAmount > maxBufferedBytes) cutOffSlowSocket(socket, socket.bufferedAmount);
    }) as typeof socket.send;
    socket.once("close", () => rawBySocket.delete(socket));
  });
}

function spliceRaw(socket: WebSocket, message: string): { before: string; payload: Buffer; after: string } | null {
  const pending = rawBySocket.get(socket);
  if (!pending || pending.size === 0) return null;
  const start = message.indexOf('"@@swamp-raw:');
  if (start < 0) return null;
  const end = message.indexOf('@@"', start + 13);
  const token = message.slice(start + 1, end + 2);
  const payload = pending.get(token);
  if (payload === undefined) return null;
  pending.delete(token);
  return { before: message.slice(0, start), payload, after: message.slice(end + 3) };
}
