import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Field, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root } from "type-graphql";
import { MAX_SWEEP_SIZE } from "../../schema/sweep-grid.js";
import { SweepRow } from "../entities/sweep.js";
import { createSweep, findSweep, listSweeps, MAX_SWEEP_PAGE_SIZE, type SweepCounts as SweepCountsView } from "../services/sweeps.js";
import { inTransaction } from "../services/transaction.js";
import { principalName, type GraphQLContext } from "./context.js";
import { PageInfo } from "./experiment.js";

@ObjectType("Sweep", { description: "A base config crossed with a grid of config values: the experiments it created and how far they are." })
export class Sweep {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => GraphQLJSONObject, { description: "The base config as given." })
  base!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { description: "Config paths to the value lists crossed." })
  grid!: Record<string, unknown>;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => String, { nullable: true, description: "Name of the token that created it; null for the environment's admin token." })
  owner!: string | null;

  @Field(() => [String], { description: "Tags added to each of its experiments." })
  tags!: string[];

  @Field(() => Int, { description: "Experiments created." })
  size!: number;
}

@ObjectType("SweepCounts", { description: "A sweep's experiments by status (deleted ones are no longer counted)." })
export class SweepCounts {
  @Field(() => Int) queued!: number;
  @Field(() => Int) running!: number;
  @Field(() => Int) completed!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Int) cancelled!: number;
  @Field(() => Int) total!: number;
}

@ObjectType("SweepEdge")
export class SweepEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Sweep)
  node!: SweepRow;
}

@ObjectType("SweepConnection", { description: "A page of sweeps; pass pageInfo.endCursor as `after` for the next." })
export class SweepConnection {
  @Field(() => [SweepEdge])
  edges!: SweepEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@Resolver(() => Sweep)
export class SweepResolver {
  @FieldResolver(() => SweepCounts)
  counts(@Root() sweep: SweepRow, @Ctx() context: GraphQLContext): Promise<SweepCountsView> {
    return context.loaders.sweepCounts.load(sweep.id);
  }

  @FieldResolver(() => [ID], { description: "Its experiments in grid order (the first grid key varies slowest)." })
  experimentIds(@Root() sweep: SweepRow, @Ctx() context: GraphQLContext): Promise<string[]> {
    return context.loaders.sweepExperimentIds.load(sweep.id);
  }

  @Query(() => SweepConnection, { description: "Sweeps, newest first, a page at a time." })
  async sweeps(
    @Ctx() context: GraphQLContext,
    @Arg("first", () => Int, { defaultValue: 50, description: `Page size, 1 to ${MAX_SWEEP_PAGE_SIZE}.` }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ): Promise<SweepConnection> {
    const page = await listSweeps(context.dataSource.manager, first, after);
    return {
      edges: page.rows.map((node, i) => ({ node, cursor: page.cursors[i]! })),
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: Boolean(after), startCursor: page.cursors[0] ?? null, endCursor: page.cursors.at(-1) ?? null },
      totalCount: page.totalCount,
    };
  }

  @Query(() => Sweep, { nullable: true, description: "One sweep, or null if there is none with this id." })
  sweep(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<SweepRow | null> {
    return findSweep(context.dataSource.manager, id);
  }

  @Mutation(() => Sweep, {
    description: `Expands base × grid (the cross product; a grid maps config paths such as "seed", "method" or "method.name" to value lists, a value may be a whole sub-object) into experiments named <name>-<index>, each carrying the sweep's id and tags. Every point is validated first: all or nothing, at most ${MAX_SWEEP_SIZE} experiments.`,
  })
  async createSweep(
    @Arg("name", () => String) name: string,
    @Arg("base", () => GraphQLJSONObject) base: Record<string, unknown>,
    @Arg("grid", () => GraphQLJSONObject) grid: Record<string, unknown>,
    @Arg("tags", () => [String], { nullable: true }) tags: string[] | null,
    @Ctx() context: GraphQLContext,
  ): Promise<SweepRow> {
    const created = await inTransaction(context.services, (tx) => createSweep(tx, { name, base, grid, tags: tags ?? [], owner: principalName(context) }));
    for (const id of created.experimentIds) await context.hooks.experimentCreated?.(id);
    return created.sweep;
  }
}
