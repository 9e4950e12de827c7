/**
 * OpenBLAS picks its kernels from CPUID, and on some virtual CPUs it misreads them (one such VM
 * reported "Prescott", running GEMM at about a sixth of the speed its AVX2 cores allow). The CPU's
 * feature flags, as the kernel reports them in /proc/cpuinfo, are what the hypervisor actually
 * exposes, so the core type is chosen from them when the user has not set OPENBLAS_CORETYPE.
 */
import { readFileSync } from "node:fs";

/**
 * The OPENBLAS_CORETYPE for a CPU described by /proc/cpuinfo text, or undefined when there is no
 * better choice than OpenBLAS's own detection (other architectures, unreadable flags).
 * Names are OpenBLAS's DYNAMIC_ARCH core names (matched case-insensitively by OpenBLAS).
 */
export function openBlasCoreTypeFor(cpuinfo: string, arch: string = process.arch): string | undefined {
  if (arch !== "x64") return undefined;
  const flagsLine = cpuinfo.split("\n").find((line) => /^flags\s*:/.test(line));
  if (!flagsLine) return undefined;
  const flags = new Set(flagsLine.slice(flagsLine.indexOf(":") + 1).trim().split(/\s+/));
  const field = (name: string) => {
    const line = cpuinfo.split("\n").find((l) => new RegExp(`^${name}\\s*:`).test(l));
    return line ? line.slice(line.indexOf(":") + 1).trim() : "";
  };
  const amd = /AuthenticAMD|HygonGenuine/.test(field("vendor_id"));
  const family = Number(field("cpu family"));
  const has = (...names: string[]) => names.every((name) => flags.has(name));
  // OpenBLAS's AVX-512 kernels need the F, BW, VL and DQ subsets together.
  if (has("avx512f", "avx512bw", "avx512vl", "avx512dq", "fma", "avx2")) return "SkylakeX";
  // As OpenBLAS itself maps them: Zen kernels for AMD family 17h (Zen 1/2), Haswell kernels for
  // later AMD and for Intel. On a Zen 3 EPYC the Haswell SGEMM measured 5–40% faster than Zen's.
  if (has("avx2", "fma")) return amd && family === 0x17 ? "Zen" : "Haswell";
  if (has("avx")) return "Sandybridge";
  if (has("sse4_2")) return "Nehalem";
  if (has("ssse3")) return "Core2";
  return undefined;
}

/** The core type for this machine, or undefined (user's choice stands, or nothing better known). */
export function chooseOpenBlasCoreType(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const userChoice = env.OPENBLAS_CORETYPE;
  if (userChoice !== undefined && userChoice !== "") return userChoice;
  return coreTypeFromThisCpu();
}

function coreTypeFromThisCpu(): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return openBlasCoreTypeFor(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Core types ranked by the vector instructions their kernels use (SSE, AVX, AVX2 with FMA,
 * AVX-512), for telling a lesser choice from a better one. Zen's and Haswell's are both AVX2 with
 * FMA. Names not listed are never judged.
 */
const VECTOR_GENERATION: Record<string, number> = {
  core2: 1,
  nehalem: 1,
  sandybridge: 2,
  zen: 3,
  haswell: 3,
  skylakex: 4,
  cooperlake: 4,
  sapphirerapids: 4,
};

/**
 * A warning when the user's OPENBLAS_CORETYPE picks older kernels than this CPU's flags allow.
 * A machine-wide setting made for older hardware costs much: on a Zen 5 EPYC, OPENBLAS_CORETYPE=Haswell
 * trained Conv-4 at 425 examples/s against 680 with SkylakeX. The choice still stands; this only says so.
 */
export function olderCoreTypeWarning(env: NodeJS.ProcessEnv = process.env, thisCpu: () => string | undefined = coreTypeFromThisCpu): string | undefined {
  const userChoice = env.OPENBLAS_CORETYPE;
  if (!userChoice) return undefined;
  const fromFlags = thisCpu();
  if (!fromFlags) return undefined;
  const chosen = VECTOR_GENERATION[userChoice.toLowerCase()];
  const possible = VECTOR_GENERATION[fromFlags.toLowerCase()];
  if (chosen === undefined || possible === undefined || chosen >= possible) return undefined;
  return `OPENBLAS_CORETYPE=${userChoice} is set, but this CPU has ${fromFlags}'s vector units: unset it (or set ${fromFlags}) for faster training`;
}
