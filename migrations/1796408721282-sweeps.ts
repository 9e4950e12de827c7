import type { MigrationInterface, QueryRunner } from "typeorm";

/** Sweeps, and each experiment's sweep and notes (issue 14). */
export class Sweeps1796408721282 implements MigrationInterface {
  name = "Sweeps1796408721282";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"sweeps\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" character varying(200) NOT NULL, \"base\" jsonb NOT NULL, \"grid\" jsonb NOT NULL, \"tags\" text array NOT NULL DEFAULT '{}', \"owner\" character varying(200), \"size\" integer NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), CONSTRAINT \"PK_07c638010e068c3d9759020a31a\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_sweeps_created\" ON \"sweeps\" (\"created_at\", \"id\") ");
    await queryRunner.query("ALTER TABLE \"experiments\" ADD \"sweep_id\" uuid");
    await queryRunner.query("ALTER TABLE \"experiments\" ADD \"notes\" text NOT NULL DEFAULT ''");
    await queryRunner.query("CREATE INDEX \"IDX_experiments_sweep\" ON \"experiments\" (\"sweep_id\", \"created_at\") ");
    await queryRunner.query("ALTER TABLE \"experiments\" ADD CONSTRAINT \"FK_f7f863d37e4b6569ecc1076201d\" FOREIGN KEY (\"sweep_id\") REFERENCES \"sweeps\"(\"id\") ON DELETE SET NULL ON UPDATE NO ACTION");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"experiments\" DROP CONSTRAINT \"FK_f7f863d37e4b6569ecc1076201d\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_sweep\"");
    await queryRunner.query("ALTER TABLE \"experiments\" DROP COLUMN \"notes\"");
    await queryRunner.query("ALTER TABLE \"experiments\" DROP COLUMN \"sweep_id\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_sweeps_created\"");
    await queryRunner.query("DROP TABLE \"sweeps\"");
  }
}
