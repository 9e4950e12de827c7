/** Says once, at start, when OPENBLAS_CORETYPE holds the training back (see openblas-core-type.ts). */
import { requestedBackend } from "./backend-request.js";
import { nativeKernelsDisabled } from "./native-kernels/addon.js";
import { olderCoreTypeWarning } from "./native-kernels/openblas-core-type.js";

/**
 * The line to print, if any. Only the native kernels call OpenBLAS, and only under the wasm
 * backend: with them off, or another backend asked for (`backend` from --backend, else
 * SWAMP_BACKEND), the setting costs nothing and is not warned about.
 */
export function coreTypeWarningLine(
  command: string,
  backend: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  thisCpu?: () => string | undefined,
): string | undefined {
  if (nativeKernelsDisabled(env)) return undefined;
  const { name } = requestedBackend(backend, env);
  if (name !== undefined && name !== "wasm") return undefined;
  const warning = olderCoreTypeWarning(env, thisCpu);
  return warning ? `${command}: ${warning}` : undefined;
}

export function warnAboutOlderCoreType(command: string, backend: string | undefined = undefined): void {
  const line = coreTypeWarningLine(command, backend);
  if (line) process.stderr.write(`${line}\n`);
}
