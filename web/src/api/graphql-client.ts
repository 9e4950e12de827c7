import { createClient, type Client } from "graphql-ws";
import { authProblem, token } from "../store.ts";

/** One error of a GraphQL response; `problems` lists config field paths for bad input. */
export interface GraphQLErrorEntry {
  message: string;
  extensions?: { code?: string; problems?: Array<{ path: string; message: string }>; field?: string };
}

export class GraphQLFailure extends Error {
  constructor(readonly errors: GraphQLErrorEntry[]) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "GraphQLFailure";
  }
  get problems(): Array<{ path: string; message: string }> {
    return this.errors.flatMap((e) => e.extensions?.problems ?? []);
  }
}

function authorizationHeader(): Record<string, string> {
  return token.value ? { authorization: `Bearer ${token.value}` } : {};
}

function noticeAuthErrors(errors: GraphQLErrorEntry[]): void {
  const refused = errors.find((e) => e.extensions?.code === "UNAUTHENTICATED" || e.extensions?.code === "FORBIDDEN");
  if (refused) authProblem.value = refused.message;
}

/**
 * Runs one operation of `document` (a .graphql file may hold several; the server picks the one
 * named) over HTTP with the stored token.
 */
export async function request<T>(document: string, operationName: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...authorizationHeader() },
    body: JSON.stringify({ query: document, operationName, variables }),
  });
  let body: { data?: T; errors?: GraphQLErrorEntry[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new GraphQLFailure([{ message: `the server answered ${response.status} ${response.statusText}` }]);
  }
  if (body.errors?.length) {
    noticeAuthErrors(body.errors);
    throw new GraphQLFailure(body.errors);
  }
  if (body.data === undefined) throw new GraphQLFailure([{ message: "the server sent no data" }]);
  return body.data;
}

let socket: { client: Client; token: string } | null = null;

function socketClient(): Client {
  if (socket && socket.token === token.value) return socket.client;
  socket?.client.dispose();
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;
  const client = createClient({ url, connectionParams: authorizationHeader(), retryAttempts: Infinity, shouldRetry: () => true, lazyCloseTimeout: 2_000 });
  socket = { client, token: token.value };
  return client;
}

/** Subscribes over graphql-ws; returns the unsubscribe function. */
export function subscribe<T>(
  document: string,
  operationName: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  onError: (error: GraphQLFailure) => void = () => undefined,
): () => void {
  return socketClient().subscribe<T>(
    { query: document, operationName, variables },
    {
      next: (result) => {
        if (result.errors?.length) {
          const errors = result.errors as unknown as GraphQLErrorEntry[];
          noticeAuthErrors(errors);
          onError(new GraphQLFailure(errors));
        } else if (result.data) onData(result.data as T);
      },
      error: (error) => {
        const errors = Array.isArray(error) ? (error as GraphQLErrorEntry[]) : [{ message: error instanceof Error ? error.message : "the subscription failed" }];
        noticeAuthErrors(errors);
        onError(new GraphQLFailure(errors));
      },
      complete: () => undefined,
    },
  );
}

/**
 * Fetches an authorised download (artifacts, exports) with the token and hands it to the browser
 * as a file: a plain link cannot carry the Authorization header.
 */
export async function download(url: string, fileName: string): Promise<void> {
  const response = await fetch(url, { headers: authorizationHeader() });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch {
      // not JSON: keep the status line
    }
    if (response.status === 401) authProblem.value = message;
    throw new Error(`download failed: ${message}`);
  }
  saveBlob(await response.blob(), fileName);
}

export function saveBlob(blob: Blob, fileName: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
