/** Says once, at start, when OPENBLAS_CORETYPE holds the training back (see openblas-core-type.ts). */
import { olderCoreTypeWarning } from "../worker/engine/native-kernels/openblas-core-type.js";

/**
 * The line to print, if any. `backend` is the one forced by --backend; without it SWAMP_BACKEND
 * decides. Only wasm (with the native kernels) calls OpenBLAS, so other backends are not warned about.
 */
export function coreTypeWarningLine(
  command: string,
  backend: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  thisCpu?: () => string | undefined,
): string | undefined {
  const forced = backend ?? env.SWAMP_BACKEND;
  if (forced && forced !== "wasm") return undefined;
  const warning = olderCoreTypeWarning(env, thisCpu);
  return warning ? `${command}: ${warning}` : undefined;
}

export function warnAboutOlderCoreType(command: string, backend: string | undefined = undefined): void {
  const line = coreTypeWarningLine(command, backend);
  if (line) process.stderr.write(`${line}\n`);
}
