import { serveSettingsFromEnv, serveUntilSignalled } from "../../server/serve.js";
import { fleetTransportOptionsFromEnv } from "../../transport/create-transport.js";
import { DEFAULT_DATA_ROOTS } from "../../server/services/data-roots.js";
import { environmentWithServerFlags, SERVER_FLAG_OPTIONS } from "../server-flags.js";
import { parseCommandLine } from "../command-line.js";

const HELP = `usage: swamp server [--port N] [--host ADDR] [--public-reads] [--home DIR]

Starts the GraphQL tracking server (HTTP and WebSocket on one port, path /graphql; explorer at /explorer).
With NATS_URL it also runs the coordinator: experiments are split into tasks for \`swamp worker\`s
on that NATS (several servers may share one database and NATS). Without it, no tasks run: use
\`swamp up\` to train on this machine.

environment:
  PORT                 port to listen on (default 4000)
  HOST                 address to listen on (default 127.0.0.1)
  DATABASE_URL         PostgreSQL to use; without it an embedded PostgreSQL runs in SWAMP_HOME
  SWAMP_HOME           data directory (default ~/.swamp): embedded PostgreSQL, artifacts
  SWAMP_ADMIN_TOKEN    accepted as an admin bearer token (at least 16 characters)
  SWAMP_PUBLIC_READS   true: queries, subscriptions and downloads need no token
  NATS_URL             the fleet's NATS JetStream (with NATS_USER/NATS_PASSWORD or NATS_TOKEN)
  SWAMP_NATS_NAMESPACE keeps this fleet's streams apart from others on the same NATS
  SWAMP_DATA_ROOTS     directories (':'-separated) a submitted config's data.dir must lie in
                       (default ${DEFAULT_DATA_ROOTS.join(":")})

Flags override the environment. Without SWAMP_ADMIN_TOKEN, the start that creates the first admin
token prints it, once.`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("server", HELP, argv, { ...SERVER_FLAG_OPTIONS, help: { type: "boolean", short: "h" } });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  let settings;
  let transport;
  try {
    const env = environmentWithServerFlags(process.env, values);
    settings = serveSettingsFromEnv(env);
    transport = fleetTransportOptionsFromEnv(env);
  } catch (error) {
    process.stderr.write(`swamp server: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  try {
    return await serveUntilSignalled(settings, transport);
  } catch (error) {
    process.stderr.write(`swamp server: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
