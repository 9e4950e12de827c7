import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { TOKEN_SCOPES, type TokenScope } from "../../schema/statuses.js";
import { ADVISORY_LOCKS } from "../db/advisory-locks.js";
import { ApiTokenRow } from "../entities/api-token.js";
import { InvalidInputError, NotFoundError } from "./errors.js";
import { requirePlainText, requireUuid } from "./validation.js";

const TOKEN_PREFIX = "swamp_";

/** Tokens carry 256 random bits, so one round of sha256 is enough to store them safely. */
export function hashToken(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function generateTokenSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export interface CreatedToken {
  /** The secret, shown once; only its hash is stored. */
  secret: string;
  row: ApiTokenRow;
}

export async function createApiToken(manager: EntityManager, input: { name: string; scopes: readonly TokenScope[]; createdBy?: string | null }): Promise<CreatedToken> {
  const name = requirePlainText(input.name.trim(), "name", 200);
  if (input.scopes.length === 0) throw InvalidInputError.single("scopes", "must name at least one scope");
  const unknown = input.scopes.find((scope) => !TOKEN_SCOPES.includes(scope));
  if (unknown) throw InvalidInputError.single("scopes", `unknown scope ${JSON.stringify(unknown)}; use ${TOKEN_SCOPES.join(", ")}`);
  const secret = generateTokenSecret();
  const repository = manager.getRepository(ApiTokenRow);
  const saved = await repository.save(
    repository.create({ name, tokenHash: hashToken(secret), prefix: secret.slice(0, 12), scopes: [...new Set(input.scopes)], createdBy: input.createdBy ?? null, revokedAt: null }),
  );
  return { secret, row: await repository.findOneByOrFail({ id: saved.id }) };
}

export async function revokeApiToken(manager: EntityManager, id: string): Promise<ApiTokenRow> {
  const tokenId = requireUuid(id, "id");
  const repository = manager.getRepository(ApiTokenRow);
  await repository.createQueryBuilder().update().set({ revokedAt: () => "coalesce(revoked_at, clock_timestamp())" }).where("id = :tokenId", { tokenId }).execute();
  const row = await repository.findOneBy({ id: tokenId });
  if (!row) throw new NotFoundError(`no API token with id ${tokenId}`);
  return row;
}

export function listApiTokens(manager: EntityManager): Promise<ApiTokenRow[]> {
  return manager.getRepository(ApiTokenRow).find({ order: { createdAt: "ASC" } });
}

export async function countActiveAdminTokens(manager: EntityManager): Promise<number> {
  const rows: Array<{ n: number }> = await manager.query(`SELECT count(*)::int AS n FROM api_tokens WHERE revoked_at IS NULL AND 'admin' = ANY(scopes)`);
  return rows[0]!.n;
}

/**
 * Creates an admin token when none is active and returns its secret (to be shown once), else null.
 * Replicas starting together on an empty database queue on a lock, so exactly one of them creates it.
 */
export async function createFirstAdminToken(dataSource: DataSource): Promise<string | null> {
  return dataSource.transaction(async (manager) => {
    await manager.query(`SELECT pg_advisory_xact_lock($1)`, [ADVISORY_LOCKS.firstAdminToken]);
    if ((await countActiveAdminTokens(manager)) > 0) return null;
    return (await createApiToken(manager, { name: "first admin token", scopes: ["admin"], createdBy: "server start-up" })).secret;
  });
}

/** Of `ids`, those that no longer authenticate (revoked, or not stored at all). */
export async function invalidTokenIds(manager: EntityManager, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows: Array<{ id: string }> = await manager.query(`SELECT id FROM api_tokens WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL`, [ids]);
  const valid = new Set(rows.map((row) => row.id));
  return ids.filter((id) => !valid.has(id));
}

export const REVOKED_TOKEN_REASON = "the bearer token has been revoked";

/** Who a request acts as. */
export type Principal =
  | { kind: "anonymous" }
  | { kind: "token"; tokenId: string | null; name: string; scopes: ReadonlySet<TokenScope> }
  | { kind: "rejected"; reason: string };

/** Scopes imply the lesser ones: admin ⊃ write ⊃ read. */
export function expandScopes(scopes: readonly TokenScope[]): ReadonlySet<TokenScope> {
  const set = new Set<TokenScope>(scopes);
  if (set.has("admin")) set.add("write");
  if (set.has("write")) set.add("read");
  return set;
}

/**
 * Resolves a bearer secret: the deployment's admin token (compared in constant time), a stored
 * token, or a rejection that says why (unknown or revoked).
 */
export async function authenticate(manager: EntityManager, secret: string | null, adminToken: string | null): Promise<Principal> {
  if (secret === null) return { kind: "anonymous" };
  if (adminToken && safeEqual(secret, adminToken)) return { kind: "token", tokenId: null, name: "admin (SWAMP_ADMIN_TOKEN)", scopes: expandScopes(["admin"]) };
  const row = await manager.getRepository(ApiTokenRow).findOneBy({ tokenHash: hashToken(secret) });
  if (!row) return { kind: "rejected", reason: "the bearer token is not known to this server" };
  if (row.revokedAt) return { kind: "rejected", reason: REVOKED_TOKEN_REASON };
  return { kind: "token", tokenId: row.id, name: row.name, scopes: expandScopes(row.scopes) };
}

/** `Bearer <secret>` → secret; anything else in the header is a rejection, not anonymity. */
export function parseAuthorizationHeader(header: string | undefined | null): { secret: string | null } | { error: string } {
  // An empty header, or "Bearer " with nothing after it (the explorer's blank template), is no token.
  if (header === undefined || header === null || /^\s*(Bearer\s*)?$/i.test(header)) return { secret: null };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { error: "the Authorization header must be `Bearer <token>`" };
  return { secret: match[1]! };
}

function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}
