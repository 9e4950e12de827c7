import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The backend an experiment's tasks run on (issue 18): pinned by its first recorded result, so
 * that its later tasks are routed to workers of that backend only.
 */
export class ExperimentBackend1796647000000 implements MigrationInterface {
  name = "ExperimentBackend1796647000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiments" ADD "backend" character varying(40)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "experiments" DROP COLUMN "backend"`);
  }
}
