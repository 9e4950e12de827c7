/**
 * Where swamp keeps its local state (embedded PostgreSQL data, artifacts): SWAMP_HOME, else
 * ~/.swamp. As root, embedded PostgreSQL runs as the `postgres` user, which cannot enter /root,
 * so root's default is /var/lib/swamp instead.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export function swampHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SWAMP_HOME) return env.SWAMP_HOME;
  if (process.getuid?.() === 0) return "/var/lib/swamp";
  return join(homedir(), ".swamp");
}
