/**
 * Which backend the user asked for: the explicit request (--backend) if given, else SWAMP_BACKEND;
 * empty means "choose automatically". Kept apart from backend.ts so that callers which only need
 * to know the request (the CLI's start-up warnings) do not load TensorFlow.js.
 */
export function requestedBackend(requested: string | undefined, env: NodeJS.ProcessEnv = process.env): { name: string | undefined; source: string } {
  if (requested !== undefined) return { name: requested === "" ? undefined : requested, source: "initBackend(requested)" };
  const fromEnv = env.SWAMP_BACKEND;
  return { name: fromEnv === undefined || fromEnv === "" ? undefined : fromEnv, source: "SWAMP_BACKEND" };
}
