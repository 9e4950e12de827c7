import type { MigrationInterface, QueryRunner } from "typeorm";

/** The first schema: experiments, cycles, particles, metric series, points and blocks, artifacts, workers, API tokens. */

export class InitialSchema1795855086959 implements MigrationInterface {
  name = "InitialSchema1795855086959";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"api_tokens\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" character varying(200) NOT NULL, \"token_hash\" character(64) NOT NULL, \"prefix\" character varying(16) NOT NULL, \"scopes\" text array NOT NULL, \"created_by\" character varying(200), \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), \"revoked_at\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"PK_c587455266b5fa8dace7194caac\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_api_tokens_hash\" ON \"api_tokens\" (\"token_hash\") ");
    await queryRunner.query("CREATE TYPE \"public\".\"experiment_status\" AS ENUM('queued', 'running', 'completed', 'failed', 'cancelled')");
    await queryRunner.query("CREATE TABLE \"experiments\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"name\" character varying(200) NOT NULL, \"config\" jsonb NOT NULL, \"config_hash\" character(64) NOT NULL, \"method\" character varying(40) NOT NULL, \"model\" character varying(40) NOT NULL, \"dataset\" character varying(40) NOT NULL, \"tags\" text array NOT NULL DEFAULT '{}', \"status\" \"public\".\"experiment_status\" NOT NULL DEFAULT 'queued', \"error\" text, \"owner\" character varying(200), \"cycles_planned\" integer NOT NULL, \"cycles_completed\" integer NOT NULL DEFAULT '0', \"particles_per_cycle\" integer NOT NULL, \"final_sparsity\" double precision NOT NULL DEFAULT '0', \"best_accuracy\" double precision, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), \"started_at\" TIMESTAMP WITH TIME ZONE, \"finished_at\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"PK_aafe1321d916fac58ba06ad8178\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_experiments_config_hash\" ON \"experiments\" (\"config_hash\") ");
    await queryRunner.query("CREATE INDEX \"IDX_experiments_status_created\" ON \"experiments\" (\"status\", \"created_at\") ");
    await queryRunner.query("CREATE INDEX \"IDX_experiments_final_sparsity\" ON \"experiments\" (\"final_sparsity\", \"id\") ");
    // Indexes TypeORM cannot express; the entity marks them `synchronize: false`.
    await queryRunner.query("CREATE INDEX \"IDX_experiments_tags\" ON \"experiments\" USING gin (\"tags\")");
    await queryRunner.query("CREATE INDEX \"IDX_experiments_best_accuracy\" ON \"experiments\" ((coalesce(\"best_accuracy\", -1)), \"id\")");
    await queryRunner.query("CREATE INDEX \"IDX_experiments_created\" ON \"experiments\" (\"created_at\", \"id\") ");
    await queryRunner.query("CREATE TYPE \"public\".\"artifact_kind\" AS ENUM('weights', 'mask', 'checkpoint', 'other')");
    await queryRunner.query("CREATE TABLE \"artifacts\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"experiment_id\" uuid, \"cycle_index\" integer, \"particle_index\" integer, \"kind\" \"public\".\"artifact_kind\" NOT NULL, \"format\" character varying(64) NOT NULL, \"content_type\" character varying(100) NOT NULL DEFAULT 'application/octet-stream', \"size_bytes\" bigint NOT NULL, \"sha256\" character(64) NOT NULL, \"location\" text NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), CONSTRAINT \"PK_6516bbed3c129918e05c5012edb\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_sha256\" ON \"artifacts\" (\"sha256\") ");
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_experiment\" ON \"artifacts\" (\"experiment_id\", \"cycle_index\", \"particle_index\") ");
    await queryRunner.query("CREATE TYPE \"public\".\"cycle_status\" AS ENUM('running', 'completed')");
    await queryRunner.query("CREATE TABLE \"cycles\" (\"experiment_id\" uuid NOT NULL, \"cycle_index\" integer NOT NULL, \"status\" \"public\".\"cycle_status\" NOT NULL DEFAULT 'running', \"sparsity\" double precision NOT NULL, \"alive_weights\" integer NOT NULL, \"total_weights\" integer NOT NULL, \"layers\" jsonb NOT NULL DEFAULT '[]', \"accuracy\" double precision, \"loss\" double precision, \"particle_accuracies\" double precision array, \"mask\" bytea, \"weights_artifact_id\" uuid, \"timings\" jsonb NOT NULL DEFAULT '{}', \"started_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), \"completed_at\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"PK_68cf8f14ed8716f821eec1b580c\" PRIMARY KEY (\"experiment_id\", \"cycle_index\"))");
    await queryRunner.query("CREATE INDEX \"IDX_cycles_weights_artifact\" ON \"cycles\" (\"weights_artifact_id\") ");
    await queryRunner.query("CREATE TABLE \"metric_blocks\" (\"series_id\" integer NOT NULL, \"block\" integer NOT NULL, \"points\" integer NOT NULL, \"min_step\" integer NOT NULL, \"min_value\" double precision NOT NULL, \"max_step\" integer NOT NULL, \"max_value\" double precision NOT NULL, CONSTRAINT \"PK_eb0045f71cfd6178c3689a1164e\" PRIMARY KEY (\"series_id\", \"block\"))");
    await queryRunner.query("CREATE TABLE \"metric_points\" (\"series_id\" integer NOT NULL, \"step\" integer NOT NULL, \"epoch\" double precision NOT NULL, \"value\" double precision NOT NULL, \"time\" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT \"PK_5277e0b426d1cee18d8a3f6b855\" PRIMARY KEY (\"series_id\", \"step\"))");
    await queryRunner.query("CREATE TABLE \"metric_series\" (\"id\" SERIAL NOT NULL, \"experiment_id\" uuid NOT NULL, \"cycle_index\" integer NOT NULL, \"particle_index\" integer NOT NULL, \"key\" character varying(100) NOT NULL, \"point_count\" integer NOT NULL DEFAULT '0', CONSTRAINT \"PK_aeaccb4123ae9612ca49d4f4967\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_metric_series_subject\" ON \"metric_series\" (\"experiment_id\", \"cycle_index\", \"particle_index\", \"key\") ");
    await queryRunner.query("CREATE TYPE \"public\".\"particle_status\" AS ENUM('queued', 'running', 'completed', 'failed')");
    await queryRunner.query("CREATE TABLE \"particles\" (\"experiment_id\" uuid NOT NULL, \"cycle_index\" integer NOT NULL, \"particle_index\" integer NOT NULL, \"seed\" bigint NOT NULL, \"status\" \"public\".\"particle_status\" NOT NULL DEFAULT 'queued', \"worker_id\" character varying(100), \"accuracy\" double precision, \"loss\" double precision, \"error\" text, \"weights_artifact_id\" uuid, \"started_at\" TIMESTAMP WITH TIME ZONE, \"completed_at\" TIMESTAMP WITH TIME ZONE, CONSTRAINT \"PK_1da0894a650d5f3edd17cb25425\" PRIMARY KEY (\"experiment_id\", \"cycle_index\", \"particle_index\"))");
    await queryRunner.query("CREATE INDEX \"IDX_particles_weights_artifact\" ON \"particles\" (\"weights_artifact_id\") ");
    await queryRunner.query("CREATE TABLE \"workers\" (\"id\" character varying(100) NOT NULL, \"host\" character varying(200) NOT NULL, \"backend\" character varying(40) NOT NULL, \"device\" character varying(200) NOT NULL, \"slots\" integer NOT NULL, \"running_tasks\" integer NOT NULL DEFAULT '0', \"state\" character varying(20) NOT NULL, \"started_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), \"last_heartbeat_at\" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT \"PK_e950c9aba3bd84a4f193058d838\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD CONSTRAINT \"FK_f9caaca14958641659d3df55259\" FOREIGN KEY (\"experiment_id\") REFERENCES \"experiments\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"cycles\" ADD CONSTRAINT \"FK_ba345c1233830bf4c9433fd0c14\" FOREIGN KEY (\"experiment_id\") REFERENCES \"experiments\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"cycles\" ADD CONSTRAINT \"FK_9fba9d440566892af005479e170\" FOREIGN KEY (\"weights_artifact_id\") REFERENCES \"artifacts\"(\"id\") ON DELETE SET NULL ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"metric_series\" ADD CONSTRAINT \"FK_64dd167e7c3f2515a746c6da95f\" FOREIGN KEY (\"experiment_id\") REFERENCES \"experiments\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"particles\" ADD CONSTRAINT \"FK_92a27f206dc1de494d4a2c6022c\" FOREIGN KEY (\"experiment_id\", \"cycle_index\") REFERENCES \"cycles\"(\"experiment_id\",\"cycle_index\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"particles\" ADD CONSTRAINT \"FK_e870bae49f609705f4f8c3e8061\" FOREIGN KEY (\"weights_artifact_id\") REFERENCES \"artifacts\"(\"id\") ON DELETE SET NULL ON UPDATE NO ACTION");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"particles\" DROP CONSTRAINT \"FK_e870bae49f609705f4f8c3e8061\"");
    await queryRunner.query("ALTER TABLE \"particles\" DROP CONSTRAINT \"FK_92a27f206dc1de494d4a2c6022c\"");
    await queryRunner.query("ALTER TABLE \"metric_series\" DROP CONSTRAINT \"FK_64dd167e7c3f2515a746c6da95f\"");
    await queryRunner.query("ALTER TABLE \"cycles\" DROP CONSTRAINT \"FK_9fba9d440566892af005479e170\"");
    await queryRunner.query("ALTER TABLE \"cycles\" DROP CONSTRAINT \"FK_ba345c1233830bf4c9433fd0c14\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP CONSTRAINT \"FK_f9caaca14958641659d3df55259\"");
    await queryRunner.query("DROP TABLE \"workers\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_particles_weights_artifact\"");
    await queryRunner.query("DROP TABLE \"particles\"");
    await queryRunner.query("DROP TYPE \"public\".\"particle_status\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_metric_series_subject\"");
    await queryRunner.query("DROP TABLE \"metric_series\"");
    await queryRunner.query("DROP TABLE \"metric_points\"");
    await queryRunner.query("DROP TABLE \"metric_blocks\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_cycles_weights_artifact\"");
    await queryRunner.query("DROP TABLE \"cycles\"");
    await queryRunner.query("DROP TYPE \"public\".\"cycle_status\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_experiment\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_sha256\"");
    await queryRunner.query("DROP TABLE \"artifacts\"");
    await queryRunner.query("DROP TYPE \"public\".\"artifact_kind\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_created\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_best_accuracy\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_tags\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_final_sparsity\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_status_created\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_experiments_config_hash\"");
    await queryRunner.query("DROP TABLE \"experiments\"");
    await queryRunner.query("DROP TYPE \"public\".\"experiment_status\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_api_tokens_hash\"");
    await queryRunner.query("DROP TABLE \"api_tokens\"");
  }
}
