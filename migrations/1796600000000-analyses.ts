import type { MigrationInterface, QueryRunner } from "typeorm";

/** Analyses of stored models (issue 16): one row per requested analysis, its input, status and result. */
export class Analyses1796600000000 implements MigrationInterface {
  name = "Analyses1796600000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TYPE \"public\".\"analysis_status\" AS ENUM('queued', 'running', 'succeeded', 'failed')");
    await queryRunner.query("CREATE TABLE \"analyses\" (\"id\" SERIAL NOT NULL, \"experiment_id\" uuid NOT NULL, \"experiment_ids\" uuid array NOT NULL, \"kind\" character varying(32) NOT NULL, \"input\" jsonb NOT NULL, \"seed\" integer NOT NULL, \"status\" \"public\".\"analysis_status\" NOT NULL DEFAULT 'queued', \"progress\" double precision NOT NULL DEFAULT '0', \"result\" jsonb, \"error\" text, \"owner\" character varying(200), \"worker_id\" character varying(100), \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), \"started_at\" TIMESTAMP WITH TIME ZONE, \"completed_at\" TIMESTAMP WITH TIME ZONE, \"seconds\" double precision, CONSTRAINT \"PK_91421900ca225ed9865d016a940\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_analyses_experiment\" ON \"analyses\" (\"experiment_id\", \"id\") ");
    await queryRunner.query("ALTER TABLE \"analyses\" ADD CONSTRAINT \"FK_f08136ec2126c3aafcab57e42fd\" FOREIGN KEY (\"experiment_id\") REFERENCES \"experiments\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"analyses\" DROP CONSTRAINT \"FK_f08136ec2126c3aafcab57e42fd\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_analyses_experiment\"");
    await queryRunner.query("DROP TABLE \"analyses\"");
    await queryRunner.query("DROP TYPE \"public\".\"analysis_status\"");
  }
}
