import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Field, FieldResolver, Float, ID, InputType, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription } from "type-graphql";
import type { SubscribeResolverData } from "type-graphql";
import type { ExperimentStatus } from "../../schema/statuses.js";
import { ExperimentRow } from "../entities/experiment.js";
import { removeUnreferencedBytes } from "../services/stored-artifacts.js";
import {
  countExperiments,
  listExperiments,
  MAX_CONFIG_CONDITIONS,
  MAX_CONFIG_VALUES,
  MAX_PAGE_SIZE,
  type ExperimentFilter,
  type ExperimentOrderField,
  type SortDirection,
} from "../services/experiment-list.js";
import {
  cancelExperiment,
  createExperiment,
  deleteExperiment,
  findExperiment,
  MAX_NOTES_LENGTH,
  requireExperiment,
  retryExperiment,
  setExperimentNotes,
  setExperimentTags,
} from "../services/experiments.js";
import { inTransaction } from "../services/transaction.js";
import { routeWait } from "../services/route-waits.js";
import { requireUuid } from "../services/validation.js";
import { requireScope } from "./auth.js";
import { principalName, type GraphQLContext } from "./context.js";
import { ExperimentOrderFieldEnum, ExperimentStatusEnum, SortDirectionEnum } from "./enums.js";
import { costArgument } from "./limits.js";
import { END_OF_STREAM, liveStream } from "./live-stream.js";

@ObjectType("Experiment", { description: "One experiment: a validated config and where its run stands." })
export class Experiment {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ExperimentStatusEnum)
  status!: ExperimentStatus;

  @Field(() => String, { description: "sha256 of the canonical config without name and tags: the run's identity." })
  configHash!: string;

  @Field(() => GraphQLJSONObject, { description: "The config with every default filled in." })
  config!: Record<string, unknown>;

  @Field(() => String, { nullable: true, description: "Why it failed." })
  error!: string | null;

  @Field(() => [String])
  tags!: string[];

  @Field(() => String, { nullable: true, description: "Name of the token that created it." })
  owner!: string | null;

  @Field(() => ID, { nullable: true, description: "The sweep that created it." })
  sweepId!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The TensorFlow.js backend its tasks run on (wasm, cpu, tensorflow, tensorflow-gpu), pinned by its first recorded result: the backend config.execution.backend requires, or for \"any\" the first worker's; null before.",
  })
  backend!: string | null;

  @Field(() => String, { description: 'Free-text notes (setNotes); "" when none.' })
  notes!: string;

  @Field(() => String)
  method!: string;

  @Field(() => String)
  model!: string;

  @Field(() => String)
  dataset!: string;

  @Field(() => Int, { description: "Cycles the run trains, the dense cycle 0 included." })
  cyclesPlanned!: number;

  @Field(() => Int)
  cyclesCompleted!: number;

  @Field(() => Int)
  particlesPerCycle!: number;

  @Field(() => Float, { description: "Sparsity of the last completed cycle (0 before any)." })
  finalSparsity!: number;

  @Field(() => Float, { nullable: true, description: "Best averaged-model accuracy over completed cycles." })
  bestAccuracy!: number | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;
}

@InputType("ConfigFieldFilter", { description: "A config field compared as JSON (4 ≠ \"4\"); give exactly one of equals and in." })
export class ConfigFieldFilterInput {
  @Field(() => String, { description: 'A dotted config path, e.g. "method.name", "training.lr", "seed".' })
  path!: string;

  @Field(() => GraphQLJSON, { nullable: true })
  equals?: unknown;

  @Field(() => [GraphQLJSON], { nullable: true, description: `One of these values (at most ${MAX_CONFIG_VALUES}).` })
  in?: unknown[];
}

@InputType("ExperimentFilter", { description: "All given conditions must hold." })
export class ExperimentFilterInput {
  @Field(() => [ID], { nullable: true })
  ids?: string[];

  @Field(() => [ExperimentStatusEnum], { nullable: true })
  statuses?: ExperimentStatus[];

  @Field(() => [String], { nullable: true, description: "Experiments carrying every one of these tags." })
  tags?: string[];

  @Field(() => [String], { nullable: true })
  methods?: string[];

  @Field(() => [String], { nullable: true })
  models?: string[];

  @Field(() => [String], { nullable: true })
  datasets?: string[];

  @Field(() => String, { nullable: true, description: "Case-insensitive substring of the name." })
  nameContains?: string;

  @Field(() => String, { nullable: true })
  configHash?: string;

  @Field(() => Date, { nullable: true, description: "Created at or after." })
  createdAfter?: Date;

  @Field(() => Date, { nullable: true, description: "Created before." })
  createdBefore?: Date;

  @Field(() => ID, { nullable: true, description: "Experiments of this sweep." })
  sweepId?: string;

  @Field(() => String, { nullable: true, description: "Created by the token of this name." })
  owner?: string;

  @Field(() => [String], { nullable: true, description: "Experiments carrying at least one of these tags." })
  tagsAny?: string[];

  @Field(() => [ConfigFieldFilterInput], { nullable: true, description: `Config fields; all must hold (at most ${MAX_CONFIG_CONDITIONS}).` })
  config?: ConfigFieldFilterInput[];

  @Field(() => Float, { nullable: true, description: "Best averaged-model accuracy so far at least this." })
  accuracyMin?: number;

  @Field(() => Float, { nullable: true, description: "Best averaged-model accuracy so far at most this." })
  accuracyMax?: number;

  @Field(() => Float, { nullable: true, description: "Sparsity of the last completed cycle at least this." })
  sparsityMin?: number;

  @Field(() => Float, { nullable: true, description: "Sparsity of the last completed cycle at most this." })
  sparsityMax?: number;
}

@InputType("ExperimentOrder")
export class ExperimentOrderInput {
  @Field(() => ExperimentOrderFieldEnum)
  field!: ExperimentOrderField;

  @Field(() => SortDirectionEnum, { defaultValue: "desc" })
  direction!: SortDirection;
}

@ObjectType("PageInfo")
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType("ExperimentEdge")
export class ExperimentEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Experiment)
  node!: ExperimentRow;
}

@ObjectType("ExperimentConnection", { description: "A page of experiments; pass pageInfo.endCursor as `after` for the next." })
export class ExperimentConnection {
  @Field(() => [ExperimentEdge])
  edges!: ExperimentEdge[];

  @Field(() => [Experiment], { description: "The edges' nodes, for clients that need no cursors." })
  nodes!: ExperimentRow[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  /** Kept for totalCount, which is computed only when asked for. */
  filter!: ExperimentFilter;
}

const DEFAULT_PAGE_SIZE = 50;

const pageCost = ({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }) =>
  1 + costArgument(args, "first", { min: 1, max: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }) * Math.max(childComplexity, 1);

export function toExperimentFilter(input: ExperimentFilterInput | null | undefined): ExperimentFilter {
  if (!input) return {};
  return {
    ids: input.ids ?? undefined,
    statuses: input.statuses ?? undefined,
    tags: input.tags ?? undefined,
    methods: input.methods ?? undefined,
    models: input.models ?? undefined,
    datasets: input.datasets ?? undefined,
    nameContains: input.nameContains ?? undefined,
    configHash: input.configHash ?? undefined,
    createdAfter: input.createdAfter ?? undefined,
    createdBefore: input.createdBefore ?? undefined,
    sweepId: input.sweepId ?? undefined,
    owner: input.owner ?? undefined,
    tagsAny: input.tagsAny ?? undefined,
    config: input.config?.map((c) => ({ path: c.path, equals: c.equals ?? undefined, in: c.in ?? undefined })),
    accuracyMin: input.accuracyMin ?? undefined,
    accuracyMax: input.accuracyMax ?? undefined,
    sparsityMin: input.sparsityMin ?? undefined,
    sparsityMax: input.sparsityMax ?? undefined,
  };
}

@Resolver(() => ExperimentConnection)
export class ExperimentConnectionResolver {
  @FieldResolver(() => Int, { description: "Experiments matching the filter, over all pages." })
  totalCount(@Root() connection: ExperimentConnection, @Ctx() context: GraphQLContext): Promise<number> {
    return countExperiments(context.dataSource.manager, connection.filter);
  }
}

@Resolver(() => Experiment)
export class ExperimentResolver {
  @FieldResolver(() => Boolean, {
    description: "True when `swamp import` created it from a swamp run directory: never scheduled on workers, never retried (import the run again instead).",
  })
  imported(@Root() experiment: ExperimentRow): boolean {
    return experiment.importKey !== null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      "Why its tasks are not running, when they wait on a route no live worker serves: it requires a backend (config.execution.backend) or was pinned to one by its recorded results, and no worker of that backend (or, for \"any\", no worker at all) has heartbeated for longer than the server's SWAMP_ROUTE_WAIT_WARNING_MS (default 60 s). Null when it is not waiting on one; it clears when such a worker heartbeats.",
  })
  async waitingFor(@Root() experiment: ExperimentRow, @Ctx() context: GraphQLContext): Promise<string | null> {
    if (experiment.status !== "queued" && experiment.status !== "running") return null;
    return routeWait(experiment, await context.loaders.fleetRoutes.load("fleet"), context.settings.routeWaitWarningMs);
  }

  @Query(() => ExperimentConnection, { description: "Experiments, a page at a time (keyset pagination).", complexity: pageCost })
  async experiments(
    @Ctx() context: GraphQLContext,
    @Arg("filter", () => ExperimentFilterInput, { nullable: true }) filter: ExperimentFilterInput | null,
    @Arg("orderBy", () => ExperimentOrderInput, { nullable: true, description: "Default: newest first." }) orderBy: ExperimentOrderInput | null,
    @Arg("first", () => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `Page size, 1 to ${MAX_PAGE_SIZE}.` }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ): Promise<ExperimentConnection> {
    const serviceFilter = toExperimentFilter(filter);
    const page = await listExperiments(context.dataSource.manager, {
      filter: serviceFilter,
      orderBy: orderBy ? { field: orderBy.field, direction: orderBy.direction ?? "desc" } : undefined,
      first,
      after,
    });
    const edges = page.rows.map((node, i) => ({ node, cursor: page.cursors[i]! }));
    return {
      edges,
      nodes: page.rows,
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: Boolean(after), startCursor: page.cursors[0] ?? null, endCursor: page.cursors.at(-1) ?? null },
      filter: serviceFilter,
    };
  }

  @Query(() => Experiment, { nullable: true, description: "One experiment, or null if there is none with this id." })
  experiment(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<ExperimentRow | null> {
    return findExperiment(context.dataSource.manager, id);
  }

  @Mutation(() => Experiment, { description: "Validates a config (exactly the JSON of a config file) and queues an experiment for it." })
  async createExperiment(@Arg("config", () => GraphQLJSONObject) config: Record<string, unknown>, @Ctx() context: GraphQLContext): Promise<ExperimentRow> {
    const row = await inTransaction(context.services, (tx) => createExperiment(tx, { config, owner: principalName(context), dataRoots: context.settings.dataRoots }));
    await context.hooks.experimentCreated?.(row.id);
    return row;
  }

  @Mutation(() => Experiment, { description: "Stops a queued or running experiment." })
  async cancelExperiment(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<ExperimentRow> {
    const row = await inTransaction(context.services, (tx) => cancelExperiment(tx, id));
    await context.hooks.experimentCancelled?.(row.id);
    return row;
  }

  @Mutation(() => Experiment, { description: "Queues a failed or cancelled experiment again; it resumes from what it recorded." })
  async retryExperiment(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<ExperimentRow> {
    const row = await inTransaction(context.services, (tx) => retryExperiment(tx, id));
    await context.hooks.experimentRetried?.(row.id);
    return row;
  }

  @Mutation(() => ID, { description: "Removes an experiment with its cycles, particles, metrics and artifacts; returns its id." })
  async deleteExperiment(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<string> {
    const deleted = await inTransaction(context.services, async (tx) => {
      const result = await deleteExperiment(tx, id);
      // Counted again after commit: an experiment recorded meanwhile may share some of the bytes.
      tx.afterCommit(async () => void (await removeUnreferencedBytes(context.dataSource, context.artifactStore, result.artifactLocations)));
      return result;
    });
    await context.hooks.experimentDeleted?.(deleted.id);
    return deleted.id;
  }

  @Mutation(() => Experiment, { description: "Replaces an experiment's tags (trimmed, duplicates dropped)." })
  setTags(@Arg("id", () => ID) id: string, @Arg("tags", () => [String]) tags: string[], @Ctx() context: GraphQLContext): Promise<ExperimentRow> {
    return inTransaction(context.services, (tx) => setExperimentTags(tx, id, tags));
  }

  @Mutation(() => Experiment, { description: `Replaces an experiment's notes (at most ${MAX_NOTES_LENGTH} characters).` })
  setNotes(@Arg("id", () => ID) id: string, @Arg("notes", () => String) notes: string, @Ctx() context: GraphQLContext): Promise<ExperimentRow> {
    return inTransaction(context.services, (tx) => setExperimentNotes(tx, id, notes));
  }

  @Subscription(() => Experiment, {
    description: "The experiment now, then again each time it changes; ends when it is deleted.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, GraphQLContext>) => experimentUpdates(context, args.id),
  })
  experimentUpdated(@Root() experiment: ExperimentRow, @Arg("id", () => ID) _id: string): ExperimentRow {
    return experiment;
  }
}

async function experimentUpdates(context: GraphQLContext, rawId: string): Promise<AsyncIterableIterator<ExperimentRow>> {
  requireScope(context, "read", "subscription experimentUpdated");
  const id = requireUuid(rawId, "id");
  const source = await context.pubsub.subscribe("experiment-updated", id);
  try {
    const current = await requireExperiment(context.dataSource.manager, id);
    return liveStream({
      initial: async function* () {
        yield current;
      },
      source,
      map: async (event) => {
        if (event.status === "deleted") return END_OF_STREAM;
        const row = await findExperiment(context.dataSource.manager, id);
        return row ? [row] : END_OF_STREAM;
      },
    });
  } catch (error) {
    await source.return();
    throw error;
  }
}
