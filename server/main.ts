/** `node dist/server/main.js`: the server configured from the environment only (containers). */
import { fleetTransportOptionsFromEnv } from "../transport/create-transport.js";
import { serveSettingsFromEnv, serveUntilSignalled } from "./serve.js";

serveUntilSignalled(serveSettingsFromEnv(process.env), fleetTransportOptionsFromEnv(process.env)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`swamp server: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
