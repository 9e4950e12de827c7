import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Each cycle's inference profile (schema/inference-profile.ts; issue 19). Stored frontiers gain
 * their inference columns when next rebuilt; until then they are read as having none.
 */
export class CycleInference1796610000000 implements MigrationInterface {
  name = "CycleInference1796610000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"cycles\" ADD \"inference\" jsonb");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"cycles\" DROP COLUMN \"inference\"");
  }
}
