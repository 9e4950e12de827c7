import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Every directory and file under `root` (itself included) with its permission bits. */
export function modesUnder(root: string): Array<{ path: string; directory: boolean; mode: number }> {
  const found = [{ path: root, directory: true, mode: statSync(root).mode & 0o777 }];
  for (const entry of readdirSync(root, { recursive: true, encoding: "utf8" })) {
    const stats = statSync(join(root, entry));
    found.push({ path: join(root, entry), directory: stats.isDirectory(), mode: stats.mode & 0o777 });
  }
  return found;
}

/** Names the entries under `root` that others may read or enter: directories must be 700, files 600. */
export function notPrivateUnder(root: string): string[] {
  return modesUnder(root)
    .filter((entry) => entry.mode !== (entry.directory ? 0o700 : 0o600))
    .map((entry) => `${entry.path} (mode ${entry.mode.toString(8)})`);
}
