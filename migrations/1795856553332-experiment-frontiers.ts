import type { MigrationInterface, QueryRunner } from "typeorm";

/** Frontiers kept ready to serve (one row per experiment), backfilled from the cycles already recorded. */

export class ExperimentFrontiers1795856553332 implements MigrationInterface {
  name = "ExperimentFrontiers1795856553332";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"experiment_frontiers\" (\"experiment_id\" uuid NOT NULL, \"plot\" json NOT NULL, \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), CONSTRAINT \"PK_1c8bb7a4709ad1da944e9c78be2\" PRIMARY KEY (\"experiment_id\"))");
    await queryRunner.query("ALTER TABLE \"experiment_frontiers\" ADD CONSTRAINT \"FK_1c8bb7a4709ad1da944e9c78be2\" FOREIGN KEY (\"experiment_id\") REFERENCES \"experiments\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query(`INSERT INTO experiment_frontiers (experiment_id, plot)
      SELECT experiment_id, json_build_object(
               'cycle', json_agg(cycle_index ORDER BY cycle_index),
               'sparsity', json_agg(sparsity ORDER BY cycle_index),
               'accuracy', json_agg(accuracy ORDER BY cycle_index),
               'loss', json_agg(loss ORDER BY cycle_index),
               'particleAccuracies', json_agg(coalesce(particle_accuracies, '{}') ORDER BY cycle_index))
        FROM cycles WHERE status = 'completed' GROUP BY experiment_id`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"experiment_frontiers\" DROP CONSTRAINT \"FK_1c8bb7a4709ad1da944e9c78be2\"");
    await queryRunner.query("DROP TABLE \"experiment_frontiers\"");
  }
}
