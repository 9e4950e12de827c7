import { registerEnumType } from "type-graphql";
import { FRONTIER_AXES } from "../services/frontier-axis.js";
import { ARTIFACT_KINDS, CYCLE_STATUSES, EXPERIMENT_STATUSES, PARTICLE_STATUSES, TOKEN_SCOPES, WORKER_STATES } from "../../schema/statuses.js";

/** GraphQL enum values are the upper-case spelling of the stored lower-case values. */
function enumOf<V extends string>(values: readonly V[]): { [K in Uppercase<V>]: Lowercase<K> & V } {
  return Object.fromEntries(values.map((value) => [value.toUpperCase(), value])) as never;
}

export const ExperimentStatusEnum = enumOf(EXPERIMENT_STATUSES);
export const CycleStatusEnum = enumOf(CYCLE_STATUSES);
export const ParticleStatusEnum = enumOf(PARTICLE_STATUSES);
export const WorkerStateEnum = enumOf(WORKER_STATES);
export const ArtifactKindEnum = enumOf(ARTIFACT_KINDS);
export const TokenScopeEnum = enumOf(TOKEN_SCOPES);

export const FrontierAxisEnum = enumOf(FRONTIER_AXES);
export const SortDirectionEnum = { ASC: "asc", DESC: "desc" } as const;
export const ExperimentOrderFieldEnum = { CREATED_AT: "createdAt", FINAL_SPARSITY: "finalSparsity", BEST_ACCURACY: "bestAccuracy" } as const;

registerEnumType(ExperimentStatusEnum, { name: "ExperimentStatus" });
registerEnumType(CycleStatusEnum, { name: "CycleStatus" });
registerEnumType(ParticleStatusEnum, { name: "ParticleStatus" });
registerEnumType(WorkerStateEnum, { name: "WorkerState", description: "LOST: no heartbeat within the timeout" });
registerEnumType(ArtifactKindEnum, { name: "ArtifactKind" });
registerEnumType(TokenScopeEnum, { name: "TokenScope", description: "READ sees everything; WRITE also changes experiments; ADMIN also manages tokens" });
registerEnumType(FrontierAxisEnum, {
  name: "FrontierAxis",
  description: "A frontier's x-axis: SPARSITY; or from the cycles' inference profiles, with the faster of the dense and sparse kernels: LATENCY (batch-1 ms), THROUGHPUT (batch-256 examples/s), BYTES (compact sparse file), FLOPS (per example, kept weights)",
});
registerEnumType(SortDirectionEnum, { name: "SortDirection" });
registerEnumType(ExperimentOrderFieldEnum, { name: "ExperimentOrderField" });
