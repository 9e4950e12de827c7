import type { MigrationInterface, QueryRunner } from "typeorm";

/** Experiments imported from a `swamp run` directory keep the run's identity (issue 14). */
export class ImportedRuns1796500000000 implements MigrationInterface {
  name = "ImportedRuns1796500000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"experiments\" ADD \"import_key\" character(64)");
    await queryRunner.query("CREATE UNIQUE INDEX \"IDX_experiments_import_key\" ON \"experiments\" (\"import_key\") ");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_import_key\"");
    await queryRunner.query("ALTER TABLE \"experiments\" DROP COLUMN \"import_key\"");
  }
}
