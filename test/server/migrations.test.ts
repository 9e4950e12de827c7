import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { DataSource } from "typeorm";
import { createDataSource, openDatabase } from "../../server/db/data-source.js";
import { ENTITIES } from "../../server/db/entities.js";
import { createScratchDatabase, type ScratchDatabase } from "../../server/db/scratch-database.js";
import { MIGRATIONS } from "../../migrations/index.js";
import { TEST_ADMIN_DATABASE_URL } from "./support/test-server.js";

let database: ScratchDatabase;
let dataSource: DataSource;

before(async () => {
  database = await createScratchDatabase(TEST_ADMIN_DATABASE_URL, "migrations");
  dataSource = await openDatabase({ url: database.url });
});
after(async () => {
  if (dataSource.isInitialized) await dataSource.destroy();
  await database.drop();
});

it("the checked-in migrations produce exactly the entities' schema (no pending diff)", async () => {
  const pending = await dataSource.driver.createSchemaBuilder().log();
  assert.deepEqual(
    pending.upQueries.map((q) => q.query),
    [],
    "generate a migration: node dist/server/tools/generate-migration.js <Name>",
  );
  const applied: Array<{ name: string }> = await dataSource.query(`SELECT name FROM swamp_migrations ORDER BY id`);
  assert.equal(applied.length, MIGRATIONS.length);
  const tables: Array<{ tablename: string }> = await dataSource.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'swamp_migrations' ORDER BY 1`);
  assert.deepEqual(
    tables.map((t) => t.tablename),
    ENTITIES.map((entity) => dataSource.getMetadata(entity).tableName).sort(),
  );
});

it("keeps the indexes TypeORM cannot express (GIN on tags and names, best-accuracy expression)", async () => {
  const indexes: Array<{ indexname: string; indexdef: string }> = await dataSource.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'experiments'`);
  const byName = new Map(indexes.map((i) => [i.indexname, i.indexdef]));
  assert.match(byName.get("IDX_experiments_tags") ?? "", /USING gin/);
  assert.match(byName.get("IDX_experiments_best_accuracy") ?? "", /COALESCE\(best_accuracy/);
  assert.match(byName.get("IDX_experiments_name_trgm") ?? "", /gin \(name gin_trgm_ops\)/);
});

it("running the migrations again changes nothing, and they can be undone and redone", async () => {
  const second = createDataSource({ url: database.url });
  await second.initialize();
  try {
    assert.deepEqual(await second.runMigrations(), []);
    for (let i = 0; i < MIGRATIONS.length; i++) await second.undoLastMigration();
    const left: Array<{ n: number }> = await second.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'swamp_migrations'`);
    assert.equal(left[0]!.n, 0);
    assert.equal((await second.runMigrations()).length, MIGRATIONS.length);
    assert.deepEqual((await second.driver.createSchemaBuilder().log()).upQueries, []);
  } finally {
    await second.destroy();
  }
});
