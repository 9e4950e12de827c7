import { GraphQLJSONObject } from "graphql-scalars";
import { Ctx, Field, FieldResolver, Float, ID, Int, ObjectType, Resolver, Root, Subscription, Arg } from "type-graphql";
import type { SubscribeResolverData } from "type-graphql";
import { CONFIG_LIMITS } from "../../schema/config.js";
import type { CycleStatus } from "../../schema/statuses.js";
import type { ArtifactRow } from "../entities/artifact.js";
import { CycleRow } from "../entities/cycle.js";
import { ExperimentRow } from "../entities/experiment.js";
import type { ParticleRow } from "../entities/particle.js";
import { findArtifact } from "../services/artifacts.js";
import { cycleMask } from "../services/cycles.js";
import { requireExperiment } from "../services/experiments.js";
import { requireUuid } from "../services/validation.js";
import { Artifact } from "./artifact.js";
import { requireScope } from "./auth.js";
import type { GraphQLContext } from "./context.js";
import { CycleStatusEnum } from "./enums.js";
import { Experiment } from "./experiment.js";
import { InferenceProfile } from "./inference-profile.js";
import { liveStream } from "./live-stream.js";
import { Particle } from "./particle.js";

@ObjectType("LayerCount")
export class LayerCount {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  alive!: number;

  @Field(() => Int)
  total!: number;
}

@ObjectType("Cycle", { description: "One pruning cycle: the mask it trained under and its averaged model's results." })
export class Cycle {
  @Field(() => ID)
  experimentId!: string;

  @Field(() => Int)
  index!: number;

  @Field(() => CycleStatusEnum)
  status!: CycleStatus;

  @Field(() => Float, { description: "Fraction of prunable weights removed by this cycle's mask." })
  sparsity!: number;

  @Field(() => Int)
  aliveWeights!: number;

  @Field(() => Int)
  totalWeights!: number;

  @Field(() => [LayerCount])
  layers!: LayerCount[];

  @Field(() => Float, { nullable: true, description: "The averaged model's test accuracy." })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true })
  loss!: number | null;

  @Field(() => GraphQLJSONObject, { description: "Milliseconds per phase." })
  timings!: Record<string, number>;

  @Field(() => InferenceProfile, { nullable: true, description: "What the averaged model costs to run; null when it was not profiled." })
  inference!: InferenceProfile | null;

  @Field(() => Date)
  startedAt!: Date;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;
}

/** Particles per cycle assumed when estimating a query's cost: the most a config may ask for. */
const PARTICLES_ESTIMATE = CONFIG_LIMITS.particles;
/** Cycles per experiment assumed when estimating a query's cost: the most a config may ask for, plus the dense one. */
export const CYCLES_ESTIMATE = CONFIG_LIMITS.cycles + 1;

@Resolver(() => Cycle)
export class CycleResolver {
  @FieldResolver(() => [Particle], { complexity: ({ childComplexity }) => 1 + PARTICLES_ESTIMATE * childComplexity })
  particles(@Root() cycle: CycleRow, @Ctx() context: GraphQLContext): Promise<ParticleRow[]> {
    return context.loaders.particles.load(`${cycle.experimentId}/${cycle.index}`);
  }

  @FieldResolver(() => Artifact, { nullable: true, description: "The averaged model's weights." })
  weightsArtifact(@Root() cycle: CycleRow, @Ctx() context: GraphQLContext): Promise<ArtifactRow | null> | null {
    return cycle.weightsArtifactId ? findArtifact(context.dataSource.manager, cycle.weightsArtifactId) : null;
  }

  @FieldResolver(() => String, { nullable: true, complexity: 50, description: "The mask as a base64 bitset (bit i = prunable weight i alive)." })
  async maskBase64(@Root() cycle: CycleRow, @Ctx() context: GraphQLContext): Promise<string | null> {
    const mask = await cycleMask(context.dataSource.manager, cycle.experimentId, cycle.index);
    return mask ? mask.toString("base64") : null;
  }

  @Subscription(() => Cycle, {
    description: "Each cycle of the experiment as its aggregate is recorded.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { experimentId: string }, GraphQLContext>) => completedCycles(context, args.experimentId),
  })
  cycleCompleted(@Root() cycle: CycleRow, @Arg("experimentId", () => ID) _experimentId: string): CycleRow {
    return cycle;
  }
}

@Resolver(() => Experiment)
export class ExperimentCyclesResolver {
  @FieldResolver(() => [Cycle], { complexity: ({ childComplexity }) => 1 + CYCLES_ESTIMATE * childComplexity })
  cycles(@Root() experiment: ExperimentRow, @Ctx() context: GraphQLContext): Promise<CycleRow[]> {
    return context.loaders.cycles.load(experiment.id);
  }
}

async function completedCycles(context: GraphQLContext, rawId: string): Promise<AsyncIterableIterator<CycleRow>> {
  requireScope(context, "read", "subscription cycleCompleted");
  const experimentId = requireUuid(rawId, "experimentId");
  const source = await context.pubsub.subscribe("cycle-completed", experimentId);
  try {
    await requireExperiment(context.dataSource.manager, experimentId);
  } catch (error) {
    await source.return();
    throw error;
  }
  return liveStream({
    source,
    map: async (event) => {
      const row = await context.dataSource.manager.getRepository(CycleRow).findOneBy({ experimentId, index: event.cycleIndex });
      return row ? [row] : [];
    },
  });
}
