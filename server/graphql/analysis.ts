import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Field, FieldResolver, Float, ID, Int, Mutation, ObjectType, Query, registerEnumType, Resolver, Root, Subscription } from "type-graphql";
import type { SubscribeResolverData } from "type-graphql";
import { ANALYSIS_KINDS } from "../../schema/analyses.js";
import { ANALYSIS_STATUSES, type AnalysisStatus } from "../../schema/statuses.js";
import type { AnalysisRow } from "../entities/analysis.js";
import { ExperimentRow } from "../entities/experiment.js";
import { analysesOfExperiment, createAnalysis, findAnalysis, isFinishedAnalysis, maskOverlapOf, MAX_ANALYSES_PER_EXPERIMENT_PAGE, requireAnalysis } from "../services/analyses.js";
import { inTransaction } from "../services/transaction.js";
import { requireIntInRange } from "../services/validation.js";
import { requireScope } from "./auth.js";
import { principalName, type GraphQLContext } from "./context.js";
import { Experiment } from "./experiment.js";
import { END_OF_STREAM, liveStream } from "./live-stream.js";

/** GraphQL spells the statuses in upper case (QUEUED, RUNNING, SUCCEEDED, FAILED). */
export const AnalysisStatusEnum = Object.fromEntries(ANALYSIS_STATUSES.map((status) => [status.toUpperCase(), status])) as { [K in Uppercase<AnalysisStatus>]: Lowercase<K> };
registerEnumType(AnalysisStatusEnum, { name: "AnalysisStatus" });

@ObjectType("Analysis", {
  description: `An analysis of stored models (${ANALYSIS_KINDS.join(", ")}): its input, where it stands and its result. Download it at /export/analysis/<id>.json or .csv.`,
})
export class Analysis {
  @Field(() => ID)
  id!: number;

  @Field(() => ID, { description: "The experiment it belongs to (its first source)." })
  experimentId!: string;

  @Field(() => [ID], { description: "Every experiment whose stored models it reads, in source order." })
  experimentIds!: string[];

  @Field(() => String, { description: ANALYSIS_KINDS.join(" | ") })
  kind!: string;

  @Field(() => GraphQLJSONObject, { description: "The input as checked, defaults filled (schema/analyses.ts)." })
  input!: Record<string, unknown>;

  @Field(() => Int, { description: "Seed every random choice of the analysis derives from." })
  seed!: number;

  @Field(() => AnalysisStatusEnum)
  status!: AnalysisStatus;

  @Field(() => Float, { description: "Fraction done, 0 to 1." })
  progress!: number;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "The kind's result once it succeeded (schema/analyses.ts)." })
  result!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => String, { nullable: true, description: "Name of the token that created it; null for the environment's admin token." })
  owner!: string | null;

  @Field(() => String, { nullable: true, description: "The worker that ran it." })
  workerId!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;

  @Field(() => Float, { nullable: true, description: "Seconds the worker spent on it." })
  seconds!: number | null;
}

@ObjectType("MaskOverlapLayer", { description: "Overlap of two masks in one prunable layer." })
export class MaskOverlapLayer {
  @Field(() => String) layer!: string;
  @Field(() => Float, { description: "|A ∩ B| / |A ∪ B| of the surviving weights (1 when both are empty)." }) jaccard!: number;
  @Field(() => Int, { description: "Weights alive in exactly one of the two masks." }) hamming!: number;
  @Field(() => Int) aliveA!: number;
  @Field(() => Int) aliveB!: number;
  @Field(() => Int) intersection!: number;
  @Field(() => Int) union!: number;
  @Field(() => Int) total!: number;
}

@ObjectType("MaskOverlap", { description: "How much two stored masks agree, over the whole model and per prunable layer." })
export class MaskOverlap {
  @Field(() => String) a!: string;
  @Field(() => String) b!: string;
  @Field(() => Float, { description: "Jaccard index over every prunable weight." }) jaccard!: number;
  @Field(() => Int) hamming!: number;
  @Field(() => Int) aliveA!: number;
  @Field(() => Int) aliveB!: number;
  @Field(() => Int) intersection!: number;
  @Field(() => Int) union!: number;
  @Field(() => Int) total!: number;
  @Field(() => [MaskOverlapLayer]) layers!: MaskOverlapLayer[];
}

@Resolver(() => Analysis)
export class AnalysisResolver {
  @Query(() => Analysis, { nullable: true, description: "One analysis, or null if there is none with this id." })
  analysis(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<AnalysisRow | null> {
    return findAnalysis(context.dataSource.manager, id);
  }

  @Query(() => MaskOverlap, {
    description: "Mask overlap computed on request from the stored masks: cycle `cycleA` of experiment `a` against cycle `cycleB` (default: cycleA) of experiment `b` (default: a).",
  })
  maskOverlap(
    @Arg("a", () => ID) a: string,
    @Arg("cycleA", () => Int) cycleA: number,
    @Arg("b", () => ID, { nullable: true }) b: string | null,
    @Arg("cycleB", () => Int, { nullable: true }) cycleB: number | null,
    @Ctx() context: GraphQLContext,
  ): Promise<MaskOverlap> {
    requireIntInRange(cycleA, "cycleA", 0, 10_000);
    if (cycleB !== null) requireIntInRange(cycleB, "cycleB", 0, 10_000);
    return maskOverlapOf(context.dataSource.manager, a, cycleA, b ?? a, cycleB ?? cycleA);
  }

  @Mutation(() => Analysis, {
    description:
      "Stores an analysis of an experiment's stored models and queues it as an `analyze` task. `input` is the kind's input (schema/analyses.ts; errors name the field as input.<field>); `otherExperimentIds` are further sources (ensemble members, the IMP run of swamp-vs-imp, the second run of a mask overlap). The cycles it reads must be completed.",
  })
  async createAnalysis(
    @Arg("experimentId", () => ID) experimentId: string,
    @Arg("kind", () => String, { description: ANALYSIS_KINDS.join(" | ") }) kind: string,
    @Arg("input", () => GraphQLJSONObject, { nullable: true }) input: Record<string, unknown> | null,
    @Arg("otherExperimentIds", () => [ID], { nullable: true }) otherExperimentIds: string[] | null,
    @Ctx() context: GraphQLContext,
  ): Promise<AnalysisRow> {
    const row = await inTransaction(context.services, (tx) =>
      createAnalysis(tx, { kind, experimentId, otherExperimentIds: otherExperimentIds ?? [], input: input ?? {}, owner: principalName(context) }),
    );
    await context.hooks.analysisCreated?.(row.id);
    return row;
  }

  @Subscription(() => Analysis, {
    description: "The analysis now, then again each time its status or progress changes; ends once it succeeded or failed.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, GraphQLContext>) => analysisUpdates(context, args.id),
  })
  analysisUpdated(@Root() analysis: AnalysisRow, @Arg("id", () => ID) _id: string): AnalysisRow {
    return analysis;
  }
}

@Resolver(() => Experiment)
export class ExperimentAnalysesResolver {
  @FieldResolver(() => [Analysis], { description: "Its analyses, newest first.", complexity: ({ childComplexity }) => 1 + 10 * childComplexity })
  analyses(
    @Root() experiment: ExperimentRow,
    @Arg("kind", () => String, { nullable: true }) kind: string | null,
    @Arg("first", () => Int, { defaultValue: 50, description: `At most ${MAX_ANALYSES_PER_EXPERIMENT_PAGE}.` }) first: number,
    @Ctx() context: GraphQLContext,
  ): Promise<AnalysisRow[]> {
    requireIntInRange(first, "first", 1, MAX_ANALYSES_PER_EXPERIMENT_PAGE);
    return analysesOfExperiment(context.dataSource.manager, experiment.id, kind, first);
  }
}

async function analysisUpdates(context: GraphQLContext, id: string): Promise<AsyncIterableIterator<AnalysisRow>> {
  requireScope(context, "read", "subscription analysisUpdated");
  const current = await requireAnalysis(context.dataSource.manager, id);
  const source = await context.pubsub.subscribe("analysis-updated", current.experimentId);
  try {
    // Read again after subscribing, so no change between the first read and the subscription is missed.
    const first = await requireAnalysis(context.dataSource.manager, id);
    const stream = liveStream({
      initial: async function* () {
        yield first;
      },
      source,
      map: async (event) => {
        if (event.analysisId !== current.id) return [];
        const row = await findAnalysis(context.dataSource.manager, id);
        return row ? [row] : END_OF_STREAM;
      },
    });
    return endingAfterFinished(stream);
  } catch (error) {
    await source.return();
    throw error;
  }
}

/** Ends the stream right after it emitted a finished analysis (nothing changes after that). */
function endingAfterFinished(stream: AsyncIterableIterator<AnalysisRow>): AsyncIterableIterator<AnalysisRow> {
  let ended = false;
  const iterator: AsyncIterableIterator<AnalysisRow> = {
    async next(): Promise<IteratorResult<AnalysisRow, undefined>> {
      if (ended) return stream.return!() as Promise<IteratorResult<AnalysisRow, undefined>>;
      const step = await stream.next();
      if (!step.done && isFinishedAnalysis(step.value.status)) ended = true;
      return step;
    },
    return: () => stream.return!() as Promise<IteratorResult<AnalysisRow, undefined>>,
    throw: (error?: unknown) => stream.throw!(error) as Promise<IteratorResult<AnalysisRow, undefined>>,
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
