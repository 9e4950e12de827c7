/** `node dist/server/main.js`: the server configured from the environment only (containers). */
import { transportOptionsFromEnv } from "../transport/create-transport.js";
import { serveSettingsFromEnv, serveUntilSignalled } from "./serve.js";

const transport = transportOptionsFromEnv(process.env);
serveUntilSignalled(serveSettingsFromEnv(process.env), transport.mode === "nats" ? transport : undefined).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`swamp server: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
