/**
 * Where swamp keeps its local state (embedded PostgreSQL data, artifacts): SWAMP_HOME, else
 * ~/.swamp. As root, embedded PostgreSQL runs as the `postgres` user, which cannot enter /root,
 * so root's default is /var/lib/swamp instead. Every path inside it is named here, once.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export function swampHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SWAMP_HOME) return env.SWAMP_HOME;
  if (process.getuid?.() === 0) return "/var/lib/swamp";
  return join(homedir(), ".swamp");
}

/** What lives in a SWAMP_HOME. */
export interface SwampHomeLayout {
  /** Content-addressed artifact files (embedded mode). */
  artifacts: string;
  /** The embedded PostgreSQL cluster's data directory. */
  postgres: string;
  /** The first admin token `swamp up` created, kept for its later starts. */
  adminToken: string;
}

export function swampHomeLayout(home: string): SwampHomeLayout {
  return { artifacts: join(home, "artifacts"), postgres: join(home, "postgres"), adminToken: join(home, "admin-token") };
}
