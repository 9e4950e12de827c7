import type { MigrationInterface, QueryRunner } from "typeorm";

/** The coordinator's ledger of recorded task results (see server/entities/task-result.ts). */
export class TaskResults1795857731439 implements MigrationInterface {
  name = "TaskResults1795857731439";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"task_results\" (\"task_id\" character varying(300) NOT NULL, \"experiment_id\" uuid NOT NULL, \"kind\" character varying(20) NOT NULL, \"cycle_index\" integer, \"particle_index\" integer, \"worker_id\" character varying(100) NOT NULL, \"attempt\" integer NOT NULL, \"outputs\" jsonb NOT NULL, \"numbers\" jsonb NOT NULL, \"finished_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"recorded_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), CONSTRAINT \"PK_3296b172607aed7fe7e0e759196\" PRIMARY KEY (\"task_id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_task_results_experiment\" ON \"task_results\" (\"experiment_id\", \"kind\", \"cycle_index\", \"particle_index\") ");
    await queryRunner.query("ALTER TABLE \"task_results\" ADD CONSTRAINT \"FK_4b0d8617bb29c9026eb75a2750c\" FOREIGN KEY (\"experiment_id\") REFERENCES \"experiments\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"task_results\" DROP CONSTRAINT \"FK_4b0d8617bb29c9026eb75a2750c\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_task_results_experiment\"");
    await queryRunner.query("DROP TABLE \"task_results\"");
  }
}
