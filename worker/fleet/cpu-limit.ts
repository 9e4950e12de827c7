/**
 * How many tasks a worker runs at once by default: one per CPU the container may use. A container
 * with a CPU limit (`docker run --cpus`, compose `cpus:`, a Kubernetes `limits.cpu`) still sees every
 * core of its host, so one slot per host core would oversubscribe it; the limit is read from the
 * cgroup instead: v2 `cpu.max` ("<quota> <period>", or "max"), v1 `cpu.cfs_quota_us` /
 * `cpu.cfs_period_us` (quota -1: none). A fractional limit rounds down (at least one slot), and
 * never above the cores there are.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

export interface DefaultSlots {
  slots: number;
  /** Where the number came from, for the worker's start-up line. */
  source: string;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** The CPU limit in CPUs (e.g. 2.5), or undefined when there is none or it cannot be read. */
export function cgroupCpuLimit(cgroupRoot = "/sys/fs/cgroup"): { cpus: number; file: string } | undefined {
  const v2 = readText(join(cgroupRoot, "cpu.max"));
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    const cpus = Number(quota) / Number(period ?? "100000");
    return quota !== "max" && Number.isFinite(cpus) && cpus > 0 ? { cpus, file: "cgroup v2 cpu.max" } : undefined;
  }
  for (const controller of ["cpu", "cpu,cpuacct"]) {
    const quota = Number(readText(join(cgroupRoot, controller, "cpu.cfs_quota_us")));
    const period = Number(readText(join(cgroupRoot, controller, "cpu.cfs_period_us")));
    if (Number.isFinite(quota) && Number.isFinite(period) && period > 0) {
      return quota > 0 ? { cpus: quota / period, file: "cgroup v1 cpu.cfs_quota_us" } : undefined;
    }
  }
  return undefined;
}

export function defaultWorkerSlots(cgroupRoot = "/sys/fs/cgroup", hostCores = availableParallelism()): DefaultSlots {
  const limit = cgroupCpuLimit(cgroupRoot);
  if (limit === undefined) return { slots: hostCores, source: `${hostCores} host core(s)` };
  const slots = Math.max(1, Math.min(hostCores, Math.floor(limit.cpus)));
  return { slots, source: `CPU limit ${limit.cpus} from ${limit.file}` };
}
