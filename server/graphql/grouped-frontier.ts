import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Field, Float, ID, Int, ObjectType, Query, Resolver } from "type-graphql";
import { groupedFrontier, MAX_FRONTIER_GROUPS, MAX_GROUPED_EXPERIMENTS, UNGROUPED_CONFIG_PATHS, type FrontierGroupPointView } from "../services/grouped-frontier.js";
import type { GraphQLContext } from "./context.js";
import { FrontierAxisEnum } from "./enums.js";
import type { FrontierAxis } from "../services/frontier-axis.js";
import { CYCLES_ESTIMATE } from "./cycle.js";
import { ExperimentFilterInput, toExperimentFilter } from "./experiment.js";

@ObjectType("FrontierGroupPoint", { description: "One cycle of a group: statistics over the group's experiments that completed it." })
export class FrontierGroupPoint {
  @Field(() => Int)
  cycle!: number;

  @Field(() => Float, { description: "Mean sparsity of the experiments at this cycle." })
  sparsity!: number;

  @Field(() => Int, { description: "Experiments contributing." })
  n!: number;

  @Field(() => Float, { description: "Mean of the averaged model's accuracy." })
  accuracyMean!: number;

  @Field(() => Float, { nullable: true, description: "Sample standard deviation (n − 1); null when n = 1." })
  accuracyStd!: number | null;

  @Field(() => Float)
  accuracyMin!: number;

  @Field(() => Float)
  accuracyMax!: number;

  @Field(() => Float, { nullable: true, description: "Of each experiment's best particle accuracy at this cycle (over those with particle accuracies; null when none)." })
  bestParticleMean!: number | null;

  @Field(() => Float, { nullable: true })
  bestParticleStd!: number | null;

  @Field(() => Float, { nullable: true })
  bestParticleMin!: number | null;

  @Field(() => Float, { nullable: true })
  bestParticleMax!: number | null;

  @Field(() => Float, { nullable: true, description: "Mean of the averaged model's test loss." })
  lossMean!: number | null;

  @Field(() => Int, { description: "Experiments with a value on the x-axis asked for at this cycle (for SPARSITY, n)." })
  xN!: number;

  @Field(() => Float, { nullable: true, description: "Mean of the x-axis asked for (null when no experiment has a value)." })
  xMean!: number | null;

  @Field(() => Float, { nullable: true, description: "Sample standard deviation of the x-axis (n − 1); null when xN < 2." })
  xStd!: number | null;

  @Field(() => Float, { nullable: true })
  xMin!: number | null;

  @Field(() => Float, { nullable: true })
  xMax!: number | null;
}

@ObjectType("FrontierGroup", { description: "Experiments whose configs agree on the grouping paths, e.g. the seeds of one setting." })
export class FrontierGroup {
  @Field(() => GraphQLJSONObject, {
    description:
      'Config path → value: with groupBy, its paths (e.g. {"method.name": "swamp", "method.particles": 4}); by default, the config paths whose values differ between the groups returned.',
  })
  key!: Record<string, unknown>;

  @Field(() => [ID])
  experimentIds!: string[];

  @Field(() => [FrontierGroupPoint], { description: "By cycle (for many groups, `columns` is far cheaper)." })
  points!: FrontierGroupPoint[];

  @Field(() => GraphQLJSONObject, {
    description:
      "The same points as columns, one list per FrontierGroupPoint field ({ cycle: [Int], sparsity: [Float], n: [Int], accuracyMean: [Float], … }), index i being points[i]: one value per group, so a thousand groups come back fast.",
  })
  columns!: Record<string, unknown[]>;
}

function toGraphQLPoint(point: FrontierGroupPointView): FrontierGroupPoint {
  return {
    cycle: point.cycle,
    sparsity: point.sparsity,
    n: point.n,
    accuracyMean: point.accuracy.mean,
    accuracyStd: point.accuracy.std,
    accuracyMin: point.accuracy.min,
    accuracyMax: point.accuracy.max,
    bestParticleMean: point.bestParticle?.mean ?? null,
    bestParticleStd: point.bestParticle?.std ?? null,
    bestParticleMin: point.bestParticle?.min ?? null,
    bestParticleMax: point.bestParticle?.max ?? null,
    lossMean: point.lossMean,
    xN: point.x?.n ?? 0,
    xMean: point.x?.mean ?? null,
    xStd: point.x?.std ?? null,
    xMin: point.x?.min ?? null,
    xMax: point.x?.max ?? null,
  };
}

const POINT_FIELDS = ["cycle", "sparsity", "n", "accuracyMean", "accuracyStd", "accuracyMin", "accuracyMax", "bestParticleMean", "bestParticleStd", "bestParticleMin", "bestParticleMax", "lossMean", "xN", "xMean", "xStd", "xMin", "xMax"] as const satisfies ReadonlyArray<keyof FrontierGroupPoint>;

function asColumns(points: readonly FrontierGroupPoint[]): Record<string, unknown[]> {
  return Object.fromEntries(POINT_FIELDS.map((field) => [field, points.map((point) => point[field])]));
}

@Resolver(() => FrontierGroup)
export class GroupedFrontierResolver {
  @Query(() => [FrontierGroup], {
    description: `Per group of experiments (configs equal on the groupBy paths; default: every config path but ${UNGROUPED_CONFIG_PATHS.join(", ")}) and per cycle: n, mean, sample std, min and max of the averaged model's accuracy and of the best particle's, over the group's experiments that completed that cycle. Groups in key order, at most \`limit\` (up to ${MAX_FRONTIER_GROUPS}); the filter may match at most ${MAX_GROUPED_EXPERIMENTS} experiments.`,
    complexity: ({ args, childComplexity }) => 1 + Math.ceil((Math.min(Number(args.limit ?? 1000), MAX_FRONTIER_GROUPS) * CYCLES_ESTIMATE * childComplexity) / 100),
  })
  async groupedFrontier(
    @Ctx() context: GraphQLContext,
    @Arg("groupBy", () => [String], { nullable: true, description: 'Dotted config paths, e.g. ["method.name", "method.particles"].' }) groupBy: string[] | null,
    @Arg("filter", () => ExperimentFilterInput, { nullable: true }) filter: ExperimentFilterInput | null,
    @Arg("limit", () => Int, { defaultValue: 1000 }) limit: number,
    @Arg("x", () => FrontierAxisEnum, { defaultValue: "sparsity", description: "The x-axis summarised per point as xN, xMean, xStd, xMin, xMax." }) x: FrontierAxis,
  ): Promise<FrontierGroup[]> {
    const groups = await groupedFrontier(context.dataSource.manager, { groupBy, filter: toExperimentFilter(filter), limit, x });
    return groups.map((group) => {
      const points = group.points.map(toGraphQLPoint);
      return { key: group.key, experimentIds: group.experimentIds, points, columns: asColumns(points) };
    });
  }
}
