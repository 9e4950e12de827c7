/**
 * Writes a migration holding the difference between the checked-in migrations and the entities.
 *
 *   node dist/server/tools/generate-migration.js <PascalCaseName> [postgres://…/scratch-db]
 *
 * It creates a scratch database (or uses the one given), runs the existing migrations there, asks
 * TypeORM for the SQL that would bring the schema to the entities, and writes it to
 * migrations/<timestamp>-<name>.ts. Indexes TypeORM cannot express (GIN, expressions) are added
 * by hand to the generated file and marked `synchronize: false` on the entity.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDataSource } from "../db/data-source.js";
import { createScratchDatabase } from "../db/scratch-database.js";

async function main(): Promise<number> {
  const name = process.argv[2];
  if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) {
    console.error("usage: generate-migration <PascalCaseName> [database url]");
    return 2;
  }
  const scratch = process.argv[3] ? null : await createScratchDatabase(process.env.SWAMP_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", "migration");
  const url = process.argv[3] ?? scratch!.url;
  const dataSource = createDataSource({ url });
  try {
    await dataSource.initialize();
    await dataSource.runMigrations();
    const sql = await dataSource.driver.createSchemaBuilder().log();
    if (sql.upQueries.length === 0) {
      console.log("the migrations already match the entities: nothing to write");
      return 0;
    }
    const timestamp = Date.now();
    const className = `${name}${timestamp}`;
    const quote = (query: { query: string; parameters?: unknown[] }) =>
      `    await queryRunner.query(${JSON.stringify(query.query)}${query.parameters && query.parameters.length > 0 ? `, ${JSON.stringify(query.parameters)}` : ""});`;
    const source = `import type { MigrationInterface, QueryRunner } from "typeorm";

export class ${className} implements MigrationInterface {
  name = "${className}";

  async up(queryRunner: QueryRunner): Promise<void> {
${sql.upQueries.map(quote).join("\n")}
  }

  async down(queryRunner: QueryRunner): Promise<void> {
${sql.downQueries.reverse().map(quote).join("\n")}
  }
}
`;
    const file = join("migrations", `${timestamp}-${name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}.ts`);
    writeFileSync(file, source);
    console.log(`wrote ${file}; add ${className} to migrations/index.ts`);
    return 0;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await scratch?.drop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
