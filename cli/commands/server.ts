import { parseArgs } from "node:util";
import { serveSettingsFromEnv, serveUntilSignalled } from "../../server/serve.js";

const HELP = `usage: swamp server [--port N] [--host ADDR] [--public-reads] [--home DIR]

Starts the GraphQL tracking server (HTTP and WebSocket on one port, path /graphql; explorer at /explorer).

environment:
  PORT                 port to listen on (default 4000)
  HOST                 address to listen on (default 127.0.0.1)
  DATABASE_URL         PostgreSQL to use; without it an embedded PostgreSQL runs in SWAMP_HOME
  SWAMP_HOME           data directory (default ~/.swamp): embedded PostgreSQL, artifacts
  SWAMP_ADMIN_TOKEN    accepted as an admin bearer token (at least 16 characters)
  SWAMP_PUBLIC_READS   true: queries, subscriptions and downloads need no token

Flags override the environment. On first start an admin token is printed once.`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        home: { type: "string" },
        "public-reads": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`swamp server: ${error instanceof Error ? error.message : String(error)}\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const env = { ...process.env };
  if (values.port !== undefined) env.PORT = values.port;
  if (values.host !== undefined) env.HOST = values.host;
  if (values.home !== undefined) env.SWAMP_HOME = values.home;
  if (values["public-reads"]) env.SWAMP_PUBLIC_READS = "true";
  let settings;
  try {
    settings = serveSettingsFromEnv(env);
  } catch (error) {
    process.stderr.write(`swamp server: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  await serveUntilSignalled(settings);
  return 0;
}
