/**
 * The multi-host scenarios, run by `test/multihost/fleet-across-hosts.test.ts` inside the server
 * host's namespace (it builds the network and tears it down): PostgreSQL and the server here, a
 * 3-node JetStream cluster (R3 streams) and two workers on hosts of their own, reached only over
 * the bridge. Writes its measurements as JSON to SWAMP_MULTIHOST_FIGURES.
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fleetNames } from "../../../schema/subjects.js";
import { createScratchDatabase } from "../../../server/db/scratch-database.js";
import type { NatsRoleUser } from "../../../transport/nats/roles.js";
import {
  referenceRun,
  slowConfig,
  startFleet,
  storedAccuracies,
  storedMasks,
  storedMetricCounts,
  tinyConfig,
  type Fleet,
} from "../../fleet/support/fleet.js";
import { SWAMP_BIN } from "../../helpers/cli.js";
import { uniqueNamespace } from "../../transport/support/implementations.js";
import { sleep, waitFor } from "../../transport/support/waiting.js";
import { setLink, type Network } from "./network.js";
import { killNatsNode, spawnIn, startNatsCluster, startPostgres, type NatsNode } from "./services.js";

const setup = JSON.parse(process.env.SWAMP_MULTIHOST ?? "null") as { network: Network; dir: string; figures: string } | null;
if (!setup) throw new Error("run by test/multihost/fleet-across-hosts.test.ts, which builds the network (SWAMP_MULTIHOST is unset)");
const { network, dir } = setup;
const hosts = network.hosts;

/** A worker is shown as lost this long after its last heartbeat (workers beat every 5 s). */
const HEARTBEAT_TIMEOUT_MS = 8_000;
/**
 * A particle whose worker went silent is delivered again after this. Long enough that the workers'
 * in-progress signals outlast a JetStream leader election (about 5 s here) when a node is lost.
 */
const ACK_WAIT_MS = 8_000;
/**
 * The production default plus two: a worker waits out the NATS timeouts of a leader election
 * (up to 2 minutes) without spending deliveries, so only a lost worker or a cut link spends one.
 */
const MAX_DELIVERIES = 6;
const SERVER_PASSWORD = "multihost-server-password";
const WORKER_PASSWORD = "multihost-worker-password";

const namespace = uniqueNamespace();
const names = fleetNames(namespace);
const users: NatsRoleUser[] = [
  { role: "server", user: "swamp-server", password: JSON.stringify(SERVER_PASSWORD) },
  { role: "worker", user: "swamp-worker", password: JSON.stringify(WORKER_PASSWORD) },
];
const figures: Record<string, number | string> = {};
let fleet: Fleet;
let nats: Awaited<ReturnType<typeof startNatsCluster>>;
let jsm: JetStreamManager;
const workers = new Map<string, ChildProcess>();

/** Each experiment (one pruning cycle, two particles) records pretrain, 2 × 2 particles and 2 aggregates. */
const RESULTS_PER_EXPERIMENT = 7;

before(async () => {
  const adminUrl = await startPostgres(dir);
  nats = await startNatsCluster(dir, [hosts.nats1!, hosts.nats2!, hosts.nats3!], namespace, users);
  const natsUrl = nats.nodes.map((node) => node.url).join(",");
  const database = await createScratchDatabase(adminUrl, "multihost");
  // The cluster answers JetStream requests once it has elected a meta leader.
  const started = Date.now();
  for (;;) {
    try {
      fleet = await startFleet({
        label: "multihost",
        natsUrl,
        natsAuth: { user: "swamp-server", password: SERVER_PASSWORD },
        namespace,
        database,
        replicas: 3,
        taskQueue: { ackWaitMs: ACK_WAIT_MS, maxDeliveries: MAX_DELIVERIES },
        heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      });
      break;
    } catch (error) {
      if (Date.now() - started > 30_000) throw error;
      await sleep(500);
    }
  }
  jsm = await jetstreamManager(fleet.transport.connection);
  const tasks = await jsm.streams.info(names.tasksStream);
  assert.equal(tasks.config.num_replicas, 3, "the task stream is R3");
  for (const name of ["worker1", "worker2"]) {
    const { child } = spawnIn(hosts[name]!, process.execPath, [SWAMP_BIN, "worker", "--slots", "1", "--id", name], join(dir, `${name}.log`), {
      ...process.env,
      NATS_URL: natsUrl,
      NATS_USER: "swamp-worker",
      NATS_PASSWORD: WORKER_PASSWORD,
      SWAMP_NATS_NAMESPACE: namespace,
    });
    workers.set(name, child);
  }
  await waitFor("both workers to say hello", async () => (await workerStates()).size === 2, 30_000);
});

after(async () => {
  writeFileSync(setup.figures, JSON.stringify(figures));
  for (const child of workers.values()) child.kill("SIGKILL");
  await fleet?.close().catch(() => undefined);
  for (const node of nats?.nodes ?? []) await killNatsNode(node);
});

async function workerStates(): Promise<Map<string, { state: string; runningTasks: number }>> {
  const view = await fleet.gql<{ workers: Array<{ id: string; state: string; runningTasks: number }> }>(`{ workers { id state runningTasks } }`);
  assert.equal(view.errors, undefined, JSON.stringify(view.errors));
  return new Map(view.data!.workers.map((worker) => [worker.id, { state: worker.state, runningTasks: worker.runningTasks }]));
}

interface RunningParticle {
  workerId: string;
  cycle: number;
  particle: number;
}

/**
 * Submits an experiment and resolves at the first live metric batch of one of its particles: that
 * particle is training now, on that worker (heartbeats would say so only seconds later).
 */
async function submitAndCatchTraining(config: Record<string, unknown>): Promise<{ id: string; training: RunningParticle }> {
  let resolveTraining!: (training: RunningParticle) => void;
  const caught = new Promise<RunningParticle>((resolve) => (resolveTraining = resolve));
  const subscription = await fleet.transport.metrics.subscribe({}, (batch) => {
    if (batch.particle !== undefined) resolveTraining({ workerId: batch.workerId, cycle: batch.cycle, particle: batch.particle });
  });
  try {
    const id = await fleet.submit(config);
    const timeout = sleep(60_000).then(() => Promise.reject(new Error("no particle started training within 60 s")));
    return { id, training: await Promise.race([caught, timeout]) };
  } finally {
    await subscription.unsubscribe();
  }
}

/** Every task recorded exactly once, every particle completed, no metric point twice. */
async function assertCompleteWithoutDuplicates(experimentId: string): Promise<Array<{ task_id: string; worker_id: string }>> {
  const db = fleet.server.server.dataSource;
  const ledger: Array<{ task_id: string; worker_id: string }> = await db.query(`SELECT task_id, worker_id FROM task_results WHERE experiment_id = $1`, [experimentId]);
  assert.equal(ledger.length, RESULTS_PER_EXPERIMENT, "each task's result recorded once");
  const particles: Array<{ status: string }> = await db.query(`SELECT status FROM particles WHERE experiment_id = $1`, [experimentId]);
  assert.equal(particles.length, 4);
  assert.ok(particles.every((particle) => particle.status === "completed"));
  await storedMetricCounts(db, experimentId); // throws on a duplicate point
  return ledger;
}

test("a sweep across hosts gives the masks and accuracies of swamp run", async () => {
  const configs = [tinyConfig({ name: "multihost-a", seed: 3 }), tinyConfig({ name: "multihost-b", seed: 5 })];
  const started = Date.now();
  const ids = await Promise.all(configs.map((config) => fleet.submit(config)));
  for (const id of ids) assert.equal(await fleet.waitForStatus(id, ["completed", "failed"], 150_000), "completed", (await fleet.experiment(id)).error ?? "");
  figures.sweepSeconds = (Date.now() - started) / 1000;
  for (const [index, id] of ids.entries()) {
    const expected = await referenceRun(configs[index]!);
    const masks = await storedMasks(fleet.server.server.dataSource, id);
    assert.deepEqual([...masks.keys()], [...expected.masks.keys()]);
    for (const [cycle, mask] of expected.masks) assert.ok(masks.get(cycle)!.equals(mask), `experiment ${index}: the mask of cycle ${cycle} equals swamp run's`);
    assert.deepEqual(await storedAccuracies(fleet.server.server.dataSource, id), expected.accuracies);
    await assertCompleteWithoutDuplicates(id);
  }
});

test("a worker cut off mid-particle: its task is delivered again, it shows as lost, and it rejoins without a duplicate", async () => {
  const { id, training: particle } = await submitAndCatchTraining(slowConfig("multihost-partition", 21, { examples: 3072, epochs: 6 }));
  const cut = particle.workerId;
  const other = cut === "worker1" ? "worker2" : "worker1";
  const cutAt = Date.now();
  setLink(hosts[cut]!, false);
  try {
    let states = new Map<string, { state: string; runningTasks: number }>();
    await waitFor("the cut worker to be shown as lost", async () => {
      states = await workerStates();
      return states.get(cut)?.state === "LOST";
    }, 60_000).catch((error: Error) => Promise.reject(new Error(`${error.message}; ${cut} cut; workers: ${JSON.stringify([...states])}`)));
    figures.lostWorkerDetectedSeconds = (Date.now() - cutAt) / 1000;
    assert.equal(await fleet.waitForStatus(id, ["completed", "failed"], 150_000), "completed", (await fleet.experiment(id)).error ?? "");
    figures.partitionedExperimentCompletedSeconds = (Date.now() - cutAt) / 1000;
  } finally {
    setLink(hosts[cut]!, true);
  }
  const ledger = await assertCompleteWithoutDuplicates(id);
  const redone: Array<{ worker_id: string; attempt: number }> = await fleet.server.server.dataSource.query(
    `SELECT worker_id, attempt FROM task_results WHERE experiment_id = $1 AND kind = 'train-particle' AND cycle_index = $2 AND particle_index = $3`,
    [id, particle.cycle, particle.particle],
  );
  assert.equal(redone[0]?.worker_id, other, "the other worker trained the cut worker's particle");
  assert.ok(redone[0]!.attempt >= 2, "on a second delivery");
  // Back on the network, it beats again and drops what it was running (the task was done elsewhere).
  const rejoinedFrom = Date.now();
  await waitFor("the cut worker to rejoin, idle", async () => {
    const state = (await workerStates()).get(cut);
    return state?.state === "IDLE" && state.runningTasks === 0;
  }, 120_000);
  figures.rejoinSeconds = (Date.now() - rejoinedFrom) / 1000;
  await assertCompleteWithoutDuplicates(id);
  const ledgerAfter: Array<{ task_id: string; worker_id: string }> = await fleet.server.server.dataSource.query(`SELECT task_id, worker_id FROM task_results WHERE experiment_id = $1 ORDER BY task_id`, [id]);
  assert.deepEqual(ledgerAfter, [...ledger].sort((a, b) => a.task_id.localeCompare(b.task_id)), "the rejoined worker's late result changed nothing");
});

/** Every fleet stream (and the artifact bucket's) answers with a leader other than `gone`. */
async function streamsLedWithout(gone: string): Promise<boolean> {
  for (const stream of [names.tasksStream, names.resultsStream, names.exhaustedStream, `OBJ_${names.artifactsBucket}`]) {
    const info = await jsm.streams.info(stream).catch(() => undefined);
    const leader = info?.cluster?.leader;
    if (!leader || leader === gone) return false;
  }
  return true;
}

test("a NATS node killed mid-run and restarted later: nothing lost, nothing recorded twice", async () => {
  const { id } = await submitAndCatchTraining(slowConfig("multihost-node-loss", 31, { examples: 3072, epochs: 6 }));
  // The node that leads the task stream, so a leader election is part of the loss.
  const leader = (await jsm.streams.info(names.tasksStream)).cluster?.leader;
  const victim: NatsNode = nats.nodes.find((node) => node.name === leader) ?? nats.nodes[0]!;
  const killedAt = Date.now();
  await killNatsNode(victim);
  await waitFor("every stream to have a leader on the surviving nodes", () => streamsLedWithout(victim.name), 60_000);
  figures.natsNodeLossRecoverySeconds = (Date.now() - killedAt) / 1000;
  figures.natsNodeKilled = `${victim.name} (task stream leader: ${leader === victim.name})`;
  const recordedBefore: Array<{ n: number }> = await fleet.server.server.dataSource.query(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [id]);
  await waitFor("a result to be recorded after the loss", async () => {
    const rows: Array<{ n: number }> = await fleet.server.server.dataSource.query(`SELECT count(*)::int AS n FROM task_results WHERE experiment_id = $1`, [id]);
    return rows[0]!.n > recordedBefore[0]!.n || (await fleet.experiment(id)).status !== "running";
  }, 120_000);
  figures.firstResultAfterNodeLossSeconds = (Date.now() - killedAt) / 1000;
  assert.equal(await fleet.waitForStatus(id, ["completed", "failed"], 150_000), "completed", (await fleet.experiment(id)).error ?? "");
  await assertCompleteWithoutDuplicates(id);

  const restartedAt = Date.now();
  await nats.restart(victim);
  await waitFor("the restarted node to catch up on every stream", async () => {
    const info = await jsm.streams.info(names.tasksStream).catch(() => undefined);
    const replicas = info?.cluster?.replicas ?? [];
    return replicas.length === 2 && replicas.every((replica) => replica.current && !replica.offline);
  }, 60_000);
  figures.natsNodeRejoinSeconds = (Date.now() - restartedAt) / 1000;
  // Nothing left behind in the queues once all is recorded.
  for (const stream of [names.tasksStream, names.resultsStream, names.exhaustedStream]) {
    assert.equal((await jsm.streams.info(stream)).state.messages, 0, `${stream} is empty`);
  }
  await assertCompleteWithoutDuplicates(id);
});
