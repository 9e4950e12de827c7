import { Arg, Args, Ctx, Field, FieldResolver, Float, ID, Int, ObjectType, Query, Resolver, Root, Subscription } from "type-graphql";
import type { SubscribeResolverData } from "type-graphql";
import type { ExperimentConfig } from "../../schema/config.js";
import { experimentStep, type MetricPoint as MetricPointMessage } from "../../schema/metrics.js";
import { ExperimentRow } from "../entities/experiment.js";
import { requireExperiment } from "../services/experiments.js";
import {
  listSeries,
  MAX_KEYS_PER_QUERY,
  MAX_SAMPLES,
  MIN_SAMPLES,
  MAX_SCAN_PAGE,
  readDownsampledSeries,
  readMetricHistory,
  scanSeriesPoints,
  type SeriesInfo,
  type StoredPoint,
} from "../services/metrics.js";
import { InvalidInputError } from "../services/errors.js";
import { requireScope } from "./auth.js";
import type { GraphQLContext } from "./context.js";
import { Experiment } from "./experiment.js";
import { costArgument } from "./limits.js";
import { liveStream } from "./live-stream.js";
import { checkedSubscriptionArgs, MetricsSubscriptionArgs } from "./metrics-subscription-args.js";

@ObjectType("MetricPoint")
export class MetricPoint {
  @Field(() => Int, { description: "Optimiser steps since the task (pretraining or the particle's training) began; pretraining's epoch loss counts epochs. See globalStep." })
  step!: number;

  @Field(() => Int, {
    description:
      "The step on one axis for the whole experiment, cycle-major (pretraining first, then each cycle's training, its particles sharing the cycle's range, its averaged-model points at the cycle's end): monotone over the run, so every curve plots on one x-axis. From the config: spe = ceil(training examples / batchSize); pretraining epoch loss at epoch·spe; a particle's point at rewindEpochs·spe + cycle·epochs·spe + step; an averaged-model point at rewindEpochs·spe + (cycle+1)·epochs·spe + step.",
  })
  globalStep!: number;

  @Field(() => Float, { description: "Fractional epochs since the task began." })
  epoch!: number;

  @Field(() => Float)
  value!: number;

  @Field(() => Date)
  time!: Date;
}

@ObjectType("MetricSeries", { description: "One key of a particle (or of the cycle's averaged model when particle is null)." })
export class MetricSeries {
  @Field(() => String)
  key!: string;

  @Field(() => Int)
  cycle!: number;

  @Field(() => Int, { nullable: true, description: "Null: the cycle's averaged model." })
  particle!: number | null;

  @Field(() => Int, { description: "Points stored, before any sampling." })
  totalPoints!: number;

  @Field(() => Boolean, { description: "True when points were dropped to fit `samples` (extremes are kept)." })
  sampled!: boolean;

  @Field(() => [MetricPoint])
  points!: GlobalStepPoint[];
}

@ObjectType("MetricPointPage", { description: "Unsampled points of one series in step order; pass endCursor as `after` for the next page." })
export class MetricPointPage {
  @Field(() => [MetricPoint])
  points!: GlobalStepPoint[];

  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType("MetricSeriesInfo")
export class MetricSeriesInfo {
  @Field(() => Int)
  cycle!: number;

  @Field(() => Int, { nullable: true, description: "Null: the cycle's averaged model." })
  particle!: number | null;

  @Field(() => String)
  key!: string;

  @Field(() => Int)
  pointCount!: number;
}

@ObjectType("LiveMetricPoint")
export class LiveMetricPoint {
  @Field(() => Int)
  cycle!: number;

  @Field(() => Int, { nullable: true, description: "Null: the cycle's averaged model." })
  particle!: number | null;

  @Field(() => String)
  key!: string;

  @Field(() => Int, { description: "Optimiser steps since the task began. See globalStep." })
  step!: number;

  @Field(() => Int, {
    description:
      "The step on one axis for the whole experiment, cycle-major (pretraining first, then each cycle's training, its particles sharing the cycle's range, its averaged-model points at the cycle's end): monotone over the run, so every curve plots on one x-axis. From the config: spe = ceil(training examples / batchSize); pretraining epoch loss at epoch·spe; a particle's point at rewindEpochs·spe + cycle·epochs·spe + step; an averaged-model point at rewindEpochs·spe + (cycle+1)·epochs·spe + step.",
  })
  globalStep!: number;

  @Field(() => Float)
  epoch!: number;

  @Field(() => Float)
  value!: number;

  @Field(() => Date)
  time!: Date;
}

@ObjectType("MetricBatch", { description: "Points of a metrics subscription: the stored history first (history: true), then live batches." })
export class MetricBatch {
  @Field(() => ID)
  experimentId!: string;

  @Field(() => Boolean, { description: "True for batches replaying what was stored before the subscription began." })
  history!: boolean;

  @Field(() => [LiveMetricPoint])
  points!: LiveMetricPoint[];
}

const DEFAULT_SAMPLES = 500;
const DEFAULT_SCAN_PAGE = 1000;

const seriesCost = ({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }) => {
  const keys = Array.isArray(args.keys) ? Math.max(args.keys.length, 1) : 1;
  const samples = costArgument(args, "samples", { min: MIN_SAMPLES, max: MAX_SAMPLES, default: DEFAULT_SAMPLES });
  return 1 + keys * (childComplexity + Math.ceil(samples / 10));
};

@Resolver(() => MetricSeries)
export class MetricsResolver {
  @Query(() => [MetricSeries], {
    description: "Series of one particle, or of a cycle's averaged model (particle omitted), each downsampled server-side to at most `samples` points.",
    complexity: seriesCost,
  })
  async metrics(
    @Arg("experimentId", () => ID) experimentId: string,
    @Arg("cycle", () => Int) cycle: number,
    @Arg("particle", () => Int, { nullable: true, description: "Omit for the cycle's averaged model." }) particle: number | null,
    @Arg("keys", () => [String], { description: `1 to ${MAX_KEYS_PER_QUERY} keys, e.g. "train/loss".` }) keys: string[],
    @Arg("samples", () => Int, { defaultValue: DEFAULT_SAMPLES, description: `${MIN_SAMPLES} to ${MAX_SAMPLES}.` }) samples: number,
    @Ctx() context: GraphQLContext,
  ): Promise<MetricSeries[]> {
    const series = await readDownsampledSeries(context.dataSource.manager, { experimentId, cycle, particle: particle ?? null, keys, samples });
    const config = await experimentConfigForSteps(context, experimentId);
    return series.map((one) => ({ ...one, points: withGlobalSteps(config, one, one.points) }));
  }

  @Query(() => MetricPointPage, {
    description: "Every point of one series, unsampled, a page at a time.",
    complexity: ({ args, childComplexity }) => 1 + Math.ceil(costArgument(args, "first", { min: 1, max: MAX_SCAN_PAGE, default: DEFAULT_SCAN_PAGE }) / 10) + childComplexity,
  })
  async metricPoints(
    @Arg("experimentId", () => ID) experimentId: string,
    @Arg("cycle", () => Int) cycle: number,
    @Arg("particle", () => Int, { nullable: true }) particle: number | null,
    @Arg("key", () => String) key: string,
    @Arg("first", () => Int, { defaultValue: DEFAULT_SCAN_PAGE, description: `1 to ${MAX_SCAN_PAGE}.` }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() context: GraphQLContext,
  ): Promise<MetricPointPage> {
    // An omitted nullable argument arrives as undefined, not null.
    const afterStep = after == null ? null : decodeStepCursor(after);
    const page = await scanSeriesPoints(context.dataSource.manager, { experimentId, cycle, particle: particle ?? null, key }, afterStep, first);
    const config = page.points.length > 0 ? await experimentConfigForSteps(context, experimentId) : null;
    return { points: config ? withGlobalSteps(config, { cycle, particle: particle ?? null, key }, page.points) : [], hasNextPage: page.hasNextPage, endCursor: page.endStep === null ? null : encodeStepCursor(page.endStep) };
  }

  @Subscription(() => MetricBatch, {
    name: "metrics",
    description: "Metric points of an experiment: the stored history first, then live batches, with no gap and no duplicate.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, MetricsSubscriptionArgs, GraphQLContext>) => metricBatches(context, args),
  })
  metricsUpdated(
    @Root() batch: MetricBatch,
    @Args(() => MetricsSubscriptionArgs) _args: MetricsSubscriptionArgs,
  ): MetricBatch {
    return batch;
  }
}

@Resolver(() => Experiment)
export class ExperimentMetricSeriesResolver {
  @FieldResolver(() => [MetricSeriesInfo], { description: "Every metric series stored for the experiment.", complexity: ({ childComplexity }) => 1 + 100 * childComplexity })
  metricSeries(@Root() experiment: ExperimentRow, @Ctx() context: GraphQLContext): Promise<SeriesInfo[]> {
    return listSeries(context.dataSource.manager, experiment.id);
  }
}

const HISTORY_BATCH = 5_000;

/**
 * History, then live, with no gap and no duplicate: the live subscription is registered before
 * the history is read, so a point stored meanwhile is either in the history or arrives live; live
 * points already replayed from history are dropped.
 */
async function metricBatches(context: GraphQLContext, args: MetricsSubscriptionArgs): Promise<AsyncIterableIterator<MetricBatch>> {
  requireScope(context, "read", "subscription metrics");
  const checked = checkedSubscriptionArgs(args);
  const experimentId = checked.experimentId;
  const keys = checked.keys && new Set(checked.keys);
  const wanted = (point: MetricPointMessage) =>
    (args.cycle == null || point.cycle === args.cycle) && (args.particle == null || point.particle === args.particle) && (keys === null || keys.has(point.key));
  const source = await context.pubsub.subscribe("metrics-appended", experimentId);
  let config: ExperimentConfig;
  try {
    config = (await requireExperiment(context.dataSource.manager, experimentId)).config as unknown as ExperimentConfig;
  } catch (error) {
    await source.return();
    throw error;
  }
  const replayed = new Map<string, Set<number>>();
  const seriesOf = (point: MetricPointMessage) => `${point.cycle}/${point.particle ?? ""}/${point.key}`;
  const toLive = (point: MetricPointMessage): LiveMetricPoint => ({
    cycle: point.cycle,
    particle: point.particle ?? null,
    key: point.key,
    step: point.step,
    globalStep: experimentStep(config, point),
    epoch: point.epoch,
    value: point.value,
    time: new Date(point.time),
  });
  return liveStream<{ points: MetricPointMessage[] }, MetricBatch>({
    initial: async function* () {
      let pending: LiveMetricPoint[] = [];
      let sent = 0;
      for await (const page of readMetricHistory(context.dataSource.manager, experimentId, { cycle: args.cycle, particle: args.particle, keys: args.keys }, HISTORY_BATCH)) {
        for (const point of page) {
          let steps = replayed.get(seriesOf(point));
          if (!steps) replayed.set(seriesOf(point), (steps = new Set()));
          steps.add(point.step);
          pending.push(toLive(point));
          if (pending.length >= HISTORY_BATCH) {
            yield { experimentId, history: true, points: pending };
            sent++;
            pending = [];
          }
        }
      }
      // Always one history batch, possibly empty, so a client knows the replay is over.
      if (pending.length > 0 || sent === 0) yield { experimentId, history: true, points: pending };
    },
    source,
    map: async (event) => {
      const fresh = event.points.filter((point) => wanted(point) && !replayed.get(seriesOf(point))?.has(point.step));
      return fresh.length > 0 ? [{ experimentId, history: false, points: fresh.map(toLive) }] : [];
    },
  });
}

type GlobalStepPoint = StoredPoint & { globalStep: number };

/** The experiment's stored (filled) config, which fixes how steps map onto the run's one axis. */
async function experimentConfigForSteps(context: GraphQLContext, experimentId: string): Promise<ExperimentConfig> {
  return (await requireExperiment(context.dataSource.manager, experimentId)).config as unknown as ExperimentConfig;
}

function withGlobalSteps(config: ExperimentConfig, series: { cycle: number; particle: number | null; key: string }, points: readonly StoredPoint[]): GlobalStepPoint[] {
  const particle = series.particle ?? undefined;
  return points.map((point) => ({ ...point, globalStep: experimentStep(config, { cycle: series.cycle, particle, key: series.key, step: point.step }) }));
}

function encodeStepCursor(step: number): string {
  return Buffer.from(`step:${step}`).toString("base64url");
}

function decodeStepCursor(cursor: string): number {
  const match = /^step:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw InvalidInputError.single("after", "is not a cursor returned by metricPoints");
  return Number(match[1]);
}
