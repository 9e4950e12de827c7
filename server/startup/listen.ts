/** Binding the port; the addresses clients use are known only after it (port 0 picks one). */
import type { Server } from "node:http";
import { defaultPublicUrl, OriginPolicy } from "../http/origin-policy.js";
import type { ServerEndpoint } from "./request-context.js";

export interface ListeningAddress {
  port: number;
  /** The host as it goes into a URL (IPv6 in brackets). */
  urlHost: string;
  baseUrl: string;
}

export async function listen(httpServer: Server, host: string, port: number): Promise<ListeningAddress> {
  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new Error(`port ${port} on ${host} is already in use; choose another with PORT`) : error);
    httpServer.once("error", fail);
    httpServer.listen(port, host, () => {
      httpServer.off("error", fail);
      resolve();
    });
  });
  const address = httpServer.address();
  const boundPort = typeof address === "object" && address ? address.port : port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return { port: boundPort, urlHost, baseUrl: `http://${urlHost}:${boundPort}` };
}

/** Fills in the public URL (unless configured) and the origin policy, now that the port is known. */
export function settleEndpoint(
  endpoint: ServerEndpoint,
  options: { configuredPublicUrl: string | null; host: string; address: ListeningAddress; allowedOrigins: readonly string[]; log: (line: string) => void },
): void {
  const { address } = options;
  if (options.configuredPublicUrl === null) {
    endpoint.publicUrl = defaultPublicUrl(options.host, address.port);
    if (endpoint.publicUrl !== address.baseUrl) options.log(`SWAMP_PUBLIC_URL is not set: download links and the allowed browser origin use ${endpoint.publicUrl}`);
  }
  endpoint.originPolicy = new OriginPolicy(endpoint.publicUrl, address.baseUrl, options.allowedOrigins);
}
