import type { EntityManager } from "typeorm";
import { ARTIFACT_KINDS, type ArtifactKind } from "../../schema/statuses.js";
import { ArtifactRow } from "../entities/artifact.js";
import { InvalidInputError, NotFoundError } from "./errors.js";
import type { Tx } from "./transaction.js";
import { requireIntInRange, requireUuid } from "./validation.js";

export interface RegisterArtifactInput {
  experimentId?: string | null;
  cycleIndex?: number | null;
  particleIndex?: number | null;
  kind: ArtifactKind;
  format: string;
  contentType?: string;
  sizeBytes: number;
  sha256: string;
  location: string;
}

/** Records an artifact whose bytes a worker (or the embedded mode) has already stored. */
export async function registerArtifact(tx: Tx, input: RegisterArtifactInput): Promise<ArtifactRow> {
  if (!ARTIFACT_KINDS.includes(input.kind)) throw InvalidInputError.single("kind", `must be one of ${ARTIFACT_KINDS.join(", ")}`);
  if (!/^[0-9a-f]{64}$/.test(input.sha256)) throw InvalidInputError.single("sha256", "must be 64 lowercase hex digits");
  if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes < 0) throw InvalidInputError.single("sizeBytes", "must be a non-negative integer");
  if (input.format.length === 0 || input.format.length > 64) throw InvalidInputError.single("format", "must be 1 to 64 characters");
  if (!/^[a-z][a-z0-9+.-]*:\/\//.test(input.location)) throw InvalidInputError.single("location", "must be a URI such as file:///… or nats-object://bucket/key");
  if (input.cycleIndex != null) requireIntInRange(input.cycleIndex, "cycleIndex", 0, 10_000);
  if (input.particleIndex != null) requireIntInRange(input.particleIndex, "particleIndex", 0, 1_000);
  const repository = tx.manager.getRepository(ArtifactRow);
  const saved = await repository.save(
    repository.create({
      experimentId: input.experimentId ? requireUuid(input.experimentId, "experimentId") : null,
      cycleIndex: input.cycleIndex ?? null,
      particleIndex: input.particleIndex ?? null,
      kind: input.kind,
      format: input.format,
      contentType: input.contentType ?? "application/octet-stream",
      sizeBytes: input.sizeBytes,
      sha256: input.sha256,
      location: input.location,
    }),
  );
  return repository.findOneByOrFail({ id: saved.id });
}

export async function findArtifact(manager: EntityManager, id: string): Promise<ArtifactRow | null> {
  return manager.getRepository(ArtifactRow).findOneBy({ id: requireUuid(id, "id") });
}

export async function requireArtifact(manager: EntityManager, id: string): Promise<ArtifactRow> {
  const row = await findArtifact(manager, id);
  if (!row) throw new NotFoundError(`no artifact with id ${id}`);
  return row;
}

/** Artifacts of several experiments, oldest first, keyed by experiment id. */
export async function artifactsOfExperiments(manager: EntityManager, experimentIds: readonly string[]): Promise<Map<string, ArtifactRow[]>> {
  const groups = new Map<string, ArtifactRow[]>();
  if (experimentIds.length === 0) return groups;
  const rows = await manager
    .getRepository(ArtifactRow)
    .createQueryBuilder("a")
    .where("a.experiment_id IN (:...ids)", { ids: experimentIds })
    .orderBy("a.created_at")
    .addOrderBy("a.id")
    .getMany();
  for (const row of rows) {
    const group = groups.get(row.experimentId!);
    if (group) group.push(row);
    else groups.set(row.experimentId!, [row]);
  }
  return groups;
}
