import { GraphQLSafeInt } from "graphql-scalars";
import { Arg, Ctx, Field, FieldResolver, ID, Int, ObjectType, Query, Resolver, Root } from "type-graphql";
import type { ArtifactKind } from "../../schema/statuses.js";
import type { ArtifactRow } from "../entities/artifact.js";
import { ExperimentRow } from "../entities/experiment.js";
import { findArtifact } from "../services/artifacts.js";
import type { GraphQLContext } from "./context.js";
import { ArtifactKindEnum } from "./enums.js";
import { Experiment } from "./experiment.js";

@ObjectType("Artifact", { description: "A stored blob (weights, mask, checkpoint); its bytes are served at downloadUrl." })
export class Artifact {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true })
  experimentId!: string | null;

  @Field(() => Int, { nullable: true })
  cycleIndex!: number | null;

  @Field(() => Int, { nullable: true })
  particleIndex!: number | null;

  @Field(() => ArtifactKindEnum)
  kind!: ArtifactKind;

  @Field(() => String, { description: "e.g. tfjs-layers-weights, bitset, json." })
  format!: string;

  @Field(() => String)
  contentType!: string;

  @Field(() => GraphQLSafeInt)
  sizeBytes!: number;

  @Field(() => String)
  sha256!: string;

  @Field(() => Date)
  createdAt!: Date;
}

/** The download path of an artifact, relative to the server's root. */
export function artifactPath(id: string): string {
  return `/artifacts/${id}`;
}

@Resolver(() => Artifact)
export class ArtifactResolver {
  @Query(() => Artifact, { nullable: true })
  artifact(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<ArtifactRow | null> {
    return findArtifact(context.dataSource.manager, id);
  }

  @FieldResolver(() => String, { description: "Served by this server with HTTP range support; send the same bearer token." })
  downloadUrl(@Root() artifact: ArtifactRow, @Ctx() context: GraphQLContext): string {
    return `${context.publicUrl}${artifactPath(artifact.id)}`;
  }
}

@Resolver(() => Experiment)
export class ExperimentArtifactsResolver {
  @FieldResolver(() => [Artifact], { complexity: ({ childComplexity }) => 1 + 20 * childComplexity })
  artifacts(@Root() experiment: ExperimentRow, @Ctx() context: GraphQLContext): Promise<ArtifactRow[]> {
    return context.loaders.artifacts.load(experiment.id);
  }
}
