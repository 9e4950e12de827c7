import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { buildSchema, type PubSub } from "type-graphql";
import { AnalysisResolver, ExperimentAnalysesResolver } from "./analysis.js";
import { ApiTokenResolver } from "./api-token.js";
import { ArtifactResolver, ExperimentArtifactsResolver } from "./artifact.js";
import { CycleResolver, ExperimentCyclesResolver } from "./cycle.js";
import { ExperimentConnectionResolver, ExperimentResolver } from "./experiment.js";
import { FrontierResolver } from "./frontier.js";
import { GroupedFrontierResolver } from "./grouped-frontier.js";
import { MetricColumnsResolver, PackedMetricColumnsResolver } from "./metric-columns.js";
import { ExperimentMetricSeriesResolver, MetricsResolver } from "./metrics.js";
import { ParticleResolver } from "./particle.js";
import { SweepResolver } from "./sweep.js";
import { WorkerResolver } from "./worker.js";
import { ExperimentStorageResolver, StorageResolver } from "./storage.js";

/** One resolver class per domain type (plus the field resolvers other types add to Experiment). */
export const RESOLVERS = [
  ExperimentResolver,
  ExperimentConnectionResolver,
  ExperimentCyclesResolver,
  ExperimentArtifactsResolver,
  ExperimentMetricSeriesResolver,
  CycleResolver,
  ParticleResolver,
  ArtifactResolver,
  MetricsResolver,
  MetricColumnsResolver,
  PackedMetricColumnsResolver,
  FrontierResolver,
  GroupedFrontierResolver,
  SweepResolver,
  WorkerResolver,
  ApiTokenResolver,
  StorageResolver,
  ExperimentStorageResolver,
  AnalysisResolver,
  ExperimentAnalysesResolver,
] as const;

/**
 * type-graphql insists on a PubSub when a schema has subscriptions, but every subscription here
 * brings its own `subscribe` (reading the server's SwampPubSub from the context), so this one is
 * never called.
 */
const unusedPubSub: PubSub = {
  publish() {
    throw new Error("publish through the server's SwampPubSub");
  },
  subscribe() {
    throw new Error("subscriptions read the SwampPubSub from the context");
  },
};

export function buildSwampSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS],
    pubSub: unusedPubSub,
    validate: false,
  });
}
