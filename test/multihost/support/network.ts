/**
 * A small network of "hosts" on one machine: Linux network namespaces, each with a veth pair whose
 * outer end is enslaved to one bridge. Addresses (10.77.0.0/24) exist only inside the namespaces,
 * none has a default route, and the bridge itself has no address: nothing can leave the machine.
 * Needs root and `ip netns`; `teardown()` kills every process left in the namespaces (by pid) and
 * removes the namespaces and the bridge, and is safe to call after a partial build.
 */
import { execFileSync, spawnSync } from "node:child_process";

export interface Host {
  /** The role, e.g. `server`, `nats1`, `worker2`. */
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
}

export interface Network {
  readonly bridge: string;
  readonly hosts: Record<string, Host>;
}

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Why this machine cannot build the network, or null when it can (tried by adding and removing a namespace). */
export function networkUnavailableReason(): string | null {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "network namespaces need root (run the multi-host test as root, as CI does)";
  const probe = `swmh-probe-${process.pid}`;
  const added = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (added.error) return `\`ip\` is not installed (apt-get install iproute2): ${added.error.message}`;
  if (added.status !== 0) return `\`ip netns add\` failed: ${added.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return null;
}

/** Unique per process, short enough for 15-character interface names. */
function runTag(): string {
  return (process.pid % 1_000_000).toString(36);
}

/** Builds the network: hosts in order get 10.77.0.2, .3, ... */
export function buildNetwork(hostNames: readonly string[], built: { network?: Network }): Network {
  const tag = runTag();
  const bridge = `swmh${tag}`;
  const network: Network = { bridge, hosts: {} };
  built.network = network;
  ip(["link", "add", bridge, "type", "bridge"]);
  ip(["link", "set", bridge, "up"]);
  hostNames.forEach((name, index) => {
    const host: Host = { name, namespace: `swmh-${tag}-${name}`, address: `10.77.0.${index + 2}` };
    network.hosts[name] = host;
    const outer = `swmh${tag}v${index}`;
    const inner = `swmh${tag}i${index}`;
    ip(["netns", "add", host.namespace]);
    ip(["-n", host.namespace, "link", "set", "lo", "up"]);
    ip(["link", "add", outer, "type", "veth", "peer", "name", inner]);
    ip(["link", "set", inner, "netns", host.namespace]);
    ip(["-n", host.namespace, "link", "set", inner, "name", "eth0"]);
    ip(["-n", host.namespace, "addr", "add", `${host.address}/24`, "dev", "eth0"]);
    ip(["-n", host.namespace, "link", "set", "eth0", "up"]);
    ip(["link", "set", outer, "master", bridge, "up"]);
  });
  return network;
}

/** Cuts (or restores) a host's only link, as a pulled cable would. */
export function setLink(host: Host, up: boolean): void {
  ip(["-n", host.namespace, "link", "set", "eth0", up ? "up" : "down"]);
}

/** The pids of the processes in a host's namespace. */
export function pidsIn(host: Host): number[] {
  const result = spawnSync("ip", ["netns", "pids", host.namespace], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.split(/\s+/).filter((pid) => pid !== "").map(Number) : [];
}

/** Kills every process in the namespaces, then removes them and the bridge (their veth pairs go with them). */
export async function teardownNetwork(network: Network | undefined): Promise<string[]> {
  const problems: string[] = [];
  if (!network) return problems;
  const hosts = Object.values(network.hosts);
  for (let round = 0; round < 50; round++) {
    const pids = hosts.flatMap(pidsIn);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const host of hosts) {
    const removed = spawnSync("ip", ["netns", "del", host.namespace], { encoding: "utf8" });
    if (removed.status !== 0) problems.push(`ip netns del ${host.namespace}: ${removed.stderr.trim()}`);
  }
  const bridge = spawnSync("ip", ["link", "del", network.bridge], { encoding: "utf8" });
  if (bridge.status !== 0) problems.push(`ip link del ${network.bridge}: ${bridge.stderr.trim()}`);
  return problems;
}
