/** `node dist/server/main.js`: the server configured from the environment only (containers). */
import { serveSettingsFromEnv, serveUntilSignalled } from "./serve.js";

serveUntilSignalled(serveSettingsFromEnv(process.env)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`swamp server: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
