/**
 * Where a config submitted to the server may point `data.dir`. Workers open that directory, and
 * whatever they find (or fail to find) ends up in errors every reader sees, so the server accepts
 * only directories inside configured data roots. `swamp run` reads its own files and checks nothing.
 */
import { realpath } from "node:fs/promises";
import { basename, delimiter, dirname, isAbsolute, join, resolve, sep } from "node:path";

/** Debian's data set packages install under here (fashion-mnist and mnist default to its subdirectories). */
export const DEFAULT_DATA_ROOTS: readonly string[] = ["/usr/share/datasets"];

/** SWAMP_DATA_ROOTS: absolute directories separated by the platform's path delimiter (`:`); unset or empty means the defaults. */
export function dataRootsFromEnv(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") return [...DEFAULT_DATA_ROOTS];
  const roots = value.split(delimiter).filter((root) => root !== "");
  for (const root of roots) {
    if (!isAbsolute(root)) throw new Error(`SWAMP_DATA_ROOTS must list absolute directories, got "${root}"`);
  }
  return roots;
}

/**
 * The path with `..` resolved and every symlink along it followed, as far as it exists; the part
 * that does not exist yet is appended unchanged, so a missing directory is judged by where it would be.
 */
async function resolveExisting(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return join(await resolveExisting(parent), basename(absolute));
  }
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Why a `data.dir` is refused (relative, or resolving outside every root), or null if it is
 * accepted. The reason is the same whether the directory exists or not, so the server's answer
 * tells nothing about its file system.
 */
export async function dataDirProblem(dir: string, roots: readonly string[]): Promise<string | null> {
  if (!isAbsolute(dir)) return `must be an absolute path inside the allowed data roots (${roots.join(", ")})`;
  const resolved = await resolveExisting(dir);
  for (const root of roots) {
    if (isInside(resolved, await resolveExisting(root))) return null;
  }
  return `is outside the allowed data roots (${roots.join(", ")})`;
}
