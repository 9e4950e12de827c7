import { GraphQLSafeInt } from "graphql-scalars";
import { Arg, Ctx, Field, FieldResolver, Int, Mutation, ObjectType, Query, Resolver, Root } from "type-graphql";
import type { ExperimentRow } from "../entities/experiment.js";
import { InvalidInputError } from "../services/errors.js";
import { collectGarbage, storageTotals, type StorageTotals } from "../services/stored-artifacts.js";
import { requireScope } from "./auth.js";
import type { GraphQLContext } from "./context.js";
import { Experiment } from "./experiment.js";

@ObjectType("Storage", { description: "What the artifact store holds for recorded artifacts, each shared object counted once." })
export class Storage {
  @Field(() => GraphQLSafeInt)
  storedBytes!: number;

  @Field(() => Int)
  objects!: number;
}

@ObjectType("GarbageCollection", { description: "Objects in the artifact store that no recorded artifact names." })
export class GarbageCollection {
  @Field(() => Int)
  unreferencedObjects!: number;

  @Field(() => GraphQLSafeInt)
  unreferencedBytes!: number;

  @Field(() => Boolean, { description: "False for a dry run: they were only counted." })
  removed!: boolean;

  @Field(() => Storage, { description: "What is stored afterwards." })
  storage!: StorageTotals;
}

/** The longest grace period accepted (30 days); objects younger than the grace period may be a worker's outputs not yet recorded. */
const MAX_MIN_AGE_SECONDS = 30 * 24 * 3600;

@Resolver(() => Storage)
export class StorageResolver {
  @Query(() => Storage, { description: "Bytes and objects of the artifact store that recorded artifacts reference." })
  storage(@Ctx() context: GraphQLContext): Promise<StorageTotals> {
    return storageTotals(context.dataSource.manager);
  }

  @Mutation(() => GarbageCollection, { description: "Removes artifact store objects no artifact row names, older than minAgeSeconds (admin scope)." })
  async collectGarbage(
    @Arg("minAgeSeconds", () => Int, { defaultValue: 3600, description: "Spare younger objects: a worker stores its outputs before they are recorded." }) minAgeSeconds: number,
    @Arg("dryRun", () => Boolean, { defaultValue: false }) dryRun: boolean,
    @Ctx() context: GraphQLContext,
  ): Promise<GarbageCollection> {
    requireScope(context, "admin", "mutation collectGarbage");
    if (!Number.isInteger(minAgeSeconds) || minAgeSeconds < 0 || minAgeSeconds > MAX_MIN_AGE_SECONDS) {
      throw InvalidInputError.single("minAgeSeconds", `must be an integer from 0 to ${MAX_MIN_AGE_SECONDS}`);
    }
    const report = await collectGarbage(context.dataSource, context.artifactStore, { minAgeMs: minAgeSeconds * 1000, dryRun });
    return { ...report, storage: await storageTotals(context.dataSource.manager) };
  }
}

@Resolver(() => Experiment)
export class ExperimentStorageResolver {
  @FieldResolver(() => GraphQLSafeInt, { description: "Bytes of the artifact store this experiment's artifacts take (an object shared with another experiment counts in both)." })
  storedBytes(@Root() experiment: ExperimentRow, @Ctx() context: GraphQLContext): Promise<number> {
    return context.loaders.storedBytes.load(experiment.id);
  }
}
