import { GraphQLSafeInt } from "graphql-scalars";
import { Ctx, Field, FieldResolver, Float, Int, ObjectType, Resolver, Root } from "type-graphql";
import type { ParticleStatus } from "../../schema/statuses.js";
import type { ArtifactRow } from "../entities/artifact.js";
import type { ParticleRow } from "../entities/particle.js";
import { findArtifact } from "../services/artifacts.js";
import { Artifact } from "./artifact.js";
import type { GraphQLContext } from "./context.js";
import { ParticleStatusEnum } from "./enums.js";

@ObjectType("Particle", { description: "One particle of a cycle, trained from the cycle's mask and then averaged." })
export class Particle {
  @Field(() => Int)
  index!: number;

  @Field(() => GraphQLSafeInt)
  seed!: number;

  @Field(() => ParticleStatusEnum)
  status!: ParticleStatus;

  @Field(() => String, { nullable: true })
  workerId!: string | null;

  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true })
  loss!: number | null;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;
}

@Resolver(() => Particle)
export class ParticleResolver {
  @FieldResolver(() => Artifact, { nullable: true })
  weightsArtifact(@Root() particle: ParticleRow, @Ctx() context: GraphQLContext): Promise<ArtifactRow | null> | null {
    return particle.weightsArtifactId ? findArtifact(context.dataSource.manager, particle.weightsArtifactId) : null;
  }
}
