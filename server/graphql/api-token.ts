import { Arg, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from "type-graphql";
import type { TokenScope } from "../../schema/statuses.js";
import type { ApiTokenRow } from "../entities/api-token.js";
import { createApiToken, listApiTokens, revokeApiToken } from "../services/tokens.js";
import { requireScope } from "./auth.js";
import { principalName, type GraphQLContext } from "./context.js";
import { TokenScopeEnum } from "./enums.js";

@ObjectType("ApiToken", { description: "A bearer token; its secret is shown only when it is created." })
export class ApiToken {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "The secret's first characters, to recognise it." })
  prefix!: string;

  @Field(() => [TokenScopeEnum])
  scopes!: TokenScope[];

  @Field(() => String, { nullable: true })
  createdBy!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType("CreatedApiToken")
export class CreatedApiToken {
  @Field(() => String, { description: "Send as `Authorization: Bearer <secret>`. Not shown again." })
  secret!: string;

  @Field(() => ApiToken)
  token!: ApiTokenRow;
}

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  @Query(() => [ApiToken], { description: "Every token, revoked ones included (admin scope).", complexity: ({ childComplexity }) => 1 + 100 * childComplexity })
  apiTokens(@Ctx() context: GraphQLContext): Promise<ApiTokenRow[]> {
    requireScope(context, "admin", "query apiTokens");
    return listApiTokens(context.dataSource.manager);
  }

  @Mutation(() => CreatedApiToken, { description: "Creates a token (admin scope)." })
  async createApiToken(
    @Arg("name", () => String) name: string,
    @Arg("scopes", () => [TokenScopeEnum]) scopes: TokenScope[],
    @Ctx() context: GraphQLContext,
  ): Promise<CreatedApiToken> {
    requireScope(context, "admin", "mutation createApiToken");
    const created = await createApiToken(context.dataSource.manager, { name, scopes, createdBy: principalName(context) });
    return { secret: created.secret, token: created.row };
  }

  @Mutation(() => ApiToken, { description: "Revokes a token at once (admin scope); revoking twice is harmless." })
  async revokeApiToken(@Arg("id", () => ID) id: string, @Ctx() context: GraphQLContext): Promise<ApiTokenRow> {
    requireScope(context, "admin", "mutation revokeApiToken");
    const row = await revokeApiToken(context.dataSource.manager, id);
    context.tokenRevoked(row.id);
    return row;
  }
}
