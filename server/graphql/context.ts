import { experimentStoredBytes } from "../services/stored-artifacts.js";
import type { DataSource } from "typeorm";
import type { ArtifactRow } from "../entities/artifact.js";
import type { CycleRow } from "../entities/cycle.js";
import type { ParticleRow } from "../entities/particle.js";
import type { ArtifactStore } from "../../transport/artifact-store.js";
import type { SwampPubSub } from "../../transport/live-feed/pubsub.js";
import { artifactsOfExperiments } from "../services/artifacts.js";
import { cyclesOfExperiments, particlesOfExperiments } from "../services/cycles.js";
import { sweepCounts, sweepExperimentIds, type SweepCounts } from "../services/sweeps.js";
import type { Principal } from "../services/tokens.js";
import type { ServiceDeps } from "../services/transaction.js";
import { BatchLoader } from "./batch-loader.js";
import { fleetRoutes, type FleetRoutes } from "../services/route-waits.js";

/** Things the coordinator (fleet issue) wants to hear about as they happen. */
export interface ServerHooks {
  experimentCreated?(experimentId: string): void | Promise<void>;
  experimentCancelled?(experimentId: string): void | Promise<void>;
  experimentRetried?(experimentId: string): void | Promise<void>;
  experimentDeleted?(experimentId: string): void | Promise<void>;
  /** An analysis was stored and waits for its task to be queued. */
  analysisCreated?(analysisId: number): void | Promise<void>;
}

export interface ServerSettings {
  publicReads: boolean;
  /** A worker silent for longer than this is shown as `lost`. */
  workerHeartbeatTimeoutMs: number;
  /** Directories a submitted config's `data.dir` must resolve inside. */
  dataRoots: readonly string[];
  /** How long an experiment's route may go without a live worker before `waitingFor` says so. */
  routeWaitWarningMs: number;
}

export interface Loaders {
  cycles: BatchLoader<string, CycleRow[]>;
  /** Keyed by `${experimentId}/${cycleIndex}`; loads all particles of the experiments asked for. */
  particles: BatchLoader<string, ParticleRow[]>;
  artifacts: BatchLoader<string, ArtifactRow[]>;
  sweepCounts: BatchLoader<string, SweepCounts>;
  sweepExperimentIds: BatchLoader<string, string[]>;
  storedBytes: BatchLoader<string, number>;
  /** The fleet's live workers by backend, read once per request (one key: "fleet"). */
  fleetRoutes: BatchLoader<"fleet", FleetRoutes>;
}

export interface GraphQLContext {
  services: ServiceDeps;
  dataSource: DataSource;
  pubsub: SwampPubSub;
  principal: Principal;
  settings: ServerSettings;
  hooks: ServerHooks;
  artifactStore: ArtifactStore;
  /** Where clients reach this server (SWAMP_PUBLIC_URL, never the request's Host header), e.g. `http://127.0.0.1:4000`. */
  publicUrl: string;
  /** Ends this server's live connections of a token that was just revoked. */
  tokenRevoked(tokenId: string): void;
  loaders: Loaders;
}

export function createLoaders(dataSource: DataSource, settings: Pick<ServerSettings, "workerHeartbeatTimeoutMs">): Loaders {
  const manager = dataSource.manager;
  return {
    cycles: new BatchLoader((ids) => cyclesOfExperiments(manager, ids), () => []),
    particles: new BatchLoader(
      async (keys) => particlesOfExperiments(manager, [...new Set(keys.map((key) => key.slice(0, key.indexOf("/"))))]),
      () => [],
    ),
    artifacts: new BatchLoader((ids) => artifactsOfExperiments(manager, ids), () => []),
    sweepCounts: new BatchLoader((ids) => sweepCounts(manager, ids), () => ({ queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0, total: 0 })),
    sweepExperimentIds: new BatchLoader((ids) => sweepExperimentIds(manager, ids), () => []),
    storedBytes: new BatchLoader((ids) => experimentStoredBytes(manager, ids), () => 0),
    fleetRoutes: new BatchLoader(
      async () => new Map([["fleet" as const, await fleetRoutes(manager, settings.workerHeartbeatTimeoutMs)]]),
      () => ({ live: new Set(), lastServedAt: new Map(), anyLastServedAt: undefined }),
    ),
  };
}

export function principalName(context: GraphQLContext): string | null {
  return context.principal.kind === "token" ? context.principal.name : null;
}
