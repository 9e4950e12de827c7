/**
 * Run by embedded-postgres.test.ts as the leader of its own process group, as a command in a
 * terminal is: starts the embedded PostgreSQL in argv[2], says "ready", and on SIGINT (a Ctrl-C,
 * which the terminal sends to the whole group) still uses the database, as swamp does for its last
 * metric points, before stopping it. Prints each step.
 */
import pg from "pg";
import { startEmbeddedPostgres } from "../../server/db/embedded-postgres.js";

async function main(): Promise<void> {
  const cluster = await startEmbeddedPostgres({ dataDir: process.argv[2]! });
  const interrupted = new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  console.log("ready");
  await interrupted;
  // Whatever the shutdown has to write takes a while; the database must still be there.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const client = new pg.Client({ connectionString: cluster.url });
  try {
    await client.connect();
    await client.query("SELECT 1");
    console.log("written after Ctrl-C");
  } catch (error) {
    console.log(`lost: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  await cluster.stop();
  console.log("stopped");
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.log(`failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
