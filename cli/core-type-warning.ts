/** Says once, at start, when OPENBLAS_CORETYPE holds the training back (see openblas-core-type.ts). */
import { olderCoreTypeWarning } from "../worker/engine/native-kernels/openblas-core-type.js";

export function warnAboutOlderCoreType(command: string): void {
  const warning = olderCoreTypeWarning();
  if (warning) process.stderr.write(`${command}: ${warning}\n`);
}
