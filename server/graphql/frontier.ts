import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Field, FieldResolver, Float, ID, Int, ObjectType, Query, Resolver, Root } from "type-graphql";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { findExperimentIds } from "../services/experiment-list.js";
import { InvalidInputError } from "../services/errors.js";
import { MAX_FRONTIER_EXPERIMENTS, readFrontier, type FrontierColumns, type FrontierSeriesView } from "../services/frontier.js";
import { requireIntInRange } from "../services/validation.js";
import type { GraphQLContext } from "./context.js";
import { CYCLES_ESTIMATE } from "./cycle.js";
import { ExperimentStatusEnum, FrontierAxisEnum } from "./enums.js";
import type { FrontierAxis } from "../services/frontier-axis.js";
import { ExperimentFilterInput, toExperimentFilter } from "./experiment.js";
import { costArgument } from "./limits.js";

@ObjectType("FrontierPoint", { description: "One completed cycle: its sparsity and the accuracies reached at it." })
export class FrontierPoint {
  @Field(() => Int)
  cycle!: number;

  @Field(() => Float)
  sparsity!: number;

  @Field(() => Float, { description: "The averaged model's accuracy." })
  accuracy!: number;

  @Field(() => Float, { nullable: true })
  loss!: number | null;

  @Field(() => [Float], { nullable: "items", description: "Each particle's accuracy, by particle index." })
  particleAccuracies!: Array<number | null>;

  @Field(() => Float, { nullable: true, description: "The value on the frontier's x-axis; null where the cycle has no inference profile." })
  x!: number | null;
}

@ObjectType("FrontierSeries", { description: "An experiment's sparsity–accuracy frontier, ready to plot." })
export class FrontierSeries {
  @Field(() => ID)
  experimentId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  method!: string;

  @Field(() => String)
  model!: string;

  @Field(() => String)
  dataset!: string;

  @Field(() => ExperimentStatusEnum)
  status!: ExperimentStatus;

  @Field(() => [String])
  tags!: string[];

  @Field(() => FrontierAxisEnum, { description: "The x-axis asked for; plot.x and each point's x hold its values." })
  x!: FrontierAxis;

  @Field(() => GraphQLJSONObject, {
    description:
      "The points as plot columns: { cycle: [Int], sparsity: [Float], accuracy: [Float], loss: [Float], particleAccuracies: [[Float]], latencyMs: [Float], throughput: [Float], sparseBytes: [Float], sparseFlops: [Float], x: [Float] }, index i being cycle[i]; the inference columns (as deployed: the faster of the dense and sparse kernels) are null where a cycle has no profile, and x is the column of the x-axis asked for. One value per experiment, so hundreds of frontiers come back fast.",
  })
  plot!: FrontierColumns;
}

interface FrontierPointView {
  cycle: number;
  sparsity: number;
  accuracy: number;
  loss: number | null;
  particleAccuracies: Array<number | null>;
  x: number | null;
}

const DEFAULT_FRONTIER_LIMIT = 1000;

@Resolver(() => FrontierSeries)
export class FrontierResolver {
  @FieldResolver(() => [FrontierPoint], {
    description: "Completed cycles in order of rising sparsity, one object each (for many experiments, `plot` is far cheaper).",
    complexity: ({ childComplexity }) => 1 + CYCLES_ESTIMATE * childComplexity,
  })
  points(@Root() series: FrontierSeriesView): FrontierPointView[] {
    const { cycle, sparsity, accuracy, loss, particleAccuracies, x } = series.plot;
    return cycle.map((index, i) => ({ cycle: index, sparsity: sparsity[i]!, accuracy: accuracy[i]!, loss: loss[i] ?? null, particleAccuracies: particleAccuracies[i] ?? [], x: x[i] ?? null }));
  }

  @Query(() => [FrontierSeries], {
    description: `Frontiers of the experiments named, or of those matching a filter (newest first, at most \`limit\`, up to ${MAX_FRONTIER_EXPERIMENTS}).`,
    complexity: ({ args, childComplexity }) => {
      const limit = costArgument(args, "limit", { min: 1, max: MAX_FRONTIER_EXPERIMENTS, default: DEFAULT_FRONTIER_LIMIT });
      const count = Array.isArray(args.experimentIds) ? args.experimentIds.length : limit;
      // Per-point fields are light (no per-object query), so a frontier costs a tenth of its fields.
      return 1 + Math.ceil((count * childComplexity) / 10);
    },
  })
  async frontier(
    @Ctx() context: GraphQLContext,
    @Arg("experimentIds", () => [ID], { nullable: true }) experimentIds: string[] | null,
    @Arg("filter", () => ExperimentFilterInput, { nullable: true }) filter: ExperimentFilterInput | null,
    @Arg("limit", () => Int, { defaultValue: DEFAULT_FRONTIER_LIMIT }) limit: number,
    @Arg("x", () => FrontierAxisEnum, { defaultValue: "sparsity", description: "The x-axis: plot.x and each point's x." }) x: FrontierAxis,
  ): Promise<FrontierSeriesView[]> {
    if (experimentIds && filter) throw InvalidInputError.single("experimentIds", "give either experimentIds or filter, not both");
    requireIntInRange(limit, "limit", 1, MAX_FRONTIER_EXPERIMENTS);
    if (experimentIds && experimentIds.length > MAX_FRONTIER_EXPERIMENTS) throw InvalidInputError.single("experimentIds", `at most ${MAX_FRONTIER_EXPERIMENTS} ids`);
    const ids = experimentIds ?? (await findExperimentIds(context.dataSource.manager, toExperimentFilter(filter), limit));
    return readFrontier(context.dataSource.manager, ids, x);
  }
}
