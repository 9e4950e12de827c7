/** Says once, at start, when OPENBLAS_CORETYPE holds the training back (see openblas-core-type.ts). */
import { olderCoreTypeWarning } from "../worker/engine/native-kernels/openblas-core-type.js";

/** `backend` is the one forced by --backend, if any; only wasm (with the native kernels) uses OpenBLAS. */
export function warnAboutOlderCoreType(command: string, backend: string | undefined = undefined): void {
  const forced = backend ?? process.env.SWAMP_BACKEND;
  if (forced && forced !== "wasm") return;
  const warning = olderCoreTypeWarning();
  if (warning) process.stderr.write(`${command}: ${warning}\n`);
}
