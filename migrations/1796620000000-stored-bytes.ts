import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Artifacts are shared by content: an object's references are the rows naming its location,
 * counted whenever rows go (experiment deletion, `storage.keep` retention) and by the garbage
 * collector, so the location is indexed (issue 21).
 */
export class StoredBytes1796620000000 implements MigrationInterface {
  name = "StoredBytes1796620000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_location\" ON \"artifacts\" (\"location\") ");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_location\"");
  }
}
