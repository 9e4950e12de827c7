/** `swamp analyze`: against run directories (analyze.ts), or with --server against stored experiments (analyze-server.ts). */
import { wantsServer } from "./analyze-server.js";

export async function run(argv: string[]): Promise<number> {
  return wantsServer(argv) ? (await import("./analyze-server.js")).run(argv) : (await import("./analyze.js")).run(argv);
}
