/**
 * Bulk seeding for the benchmarks: experiments of four methods × four models × three data sets
 * (the config agrees with the columns), each with completed cycles and particles and its frontier,
 * written with set-based SQL.
 */
import { performance } from "node:perf_hooks";
import { requireExperimentConfig } from "../schema/config.js";
import type { RunningServer } from "../server/start-server.js";

/** Seeds experiments, cycles and particles with set-based SQL; returns the seconds it took. */
export async function seedExperiments(server: RunningServer, size: { experiments: number; cycles: number; particles: number }): Promise<number> {
  const { experiments: experimentCount, cycles: cycleCount, particles: particleCount } = size;
  const start = performance.now();
  const config = requireExperimentConfig({ name: "bench", data: { name: "fashion-mnist" }, model: { name: "lenet-300-100" }, method: { name: "swamp" }, pruning: { cycles: cycleCount - 1 } });
  const runner = server.dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Bulk load: the rows are consistent by construction, so per-row foreign-key checks are skipped.
    await runner.query(`SET session_replication_role = replica`);
    await runner.query(
      `INSERT INTO experiments (name, config, config_hash, method, model, dataset, tags, status, owner, cycles_planned, cycles_completed, particles_per_cycle, final_sparsity, best_accuracy, created_at, updated_at, started_at)
       SELECT 'bench-' || lpad(i::text, 6, '0'),
              jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set($1::jsonb, '{name}', to_jsonb('bench-' || i)), '{seed}', to_jsonb(i)),
                '{method,name}', to_jsonb((ARRAY['imp','imp-swa','swamp','swamp-sgd'])[1 + i % 4])),
                '{model,name}', to_jsonb((ARRAY['lenet-300-100','conv-2','conv-4','resnet-20'])[1 + (i / 4) % 4])),
                '{data,name}', to_jsonb((ARRAY['fashion-mnist','mnist','cifar10'])[1 + (i / 16) % 3])),
              encode(sha256(convert_to('bench' || i, 'UTF8')), 'hex'),
              (ARRAY['imp','imp-swa','swamp','swamp-sgd'])[1 + i % 4],
              (ARRAY['lenet-300-100','conv-2','conv-4','resnet-20'])[1 + (i / 4) % 4],
              (ARRAY['fashion-mnist','mnist','cifar10'])[1 + (i / 16) % 3],
              ARRAY['sweep-' || (i % 50), 'lr-' || (ARRAY['0.1','0.05','0.01'])[1 + i % 3]],
              (ARRAY['completed','completed','completed','failed','running','queued','cancelled'])[1 + i % 7]::experiment_status,
              'bench', $2, $2, $3,
              1 - 0.8 ^ ($2 - 1),
              0.85 + ((i * 7919) % 1000) / 20000.0 + (i % 4) * 0.012,
              timestamptz '2026-01-01' + i * interval '17 seconds',
              timestamptz '2026-01-01' + i * interval '17 seconds',
              timestamptz '2026-01-01' + i * interval '17 seconds'
         FROM generate_series(1, $4) AS i`,
      [JSON.stringify(config), cycleCount, particleCount, experimentCount],
    );
    await runner.query(
      `INSERT INTO cycles (experiment_id, cycle_index, status, sparsity, alive_weights, total_weights, layers, accuracy, loss, particle_accuracies, timings, started_at, completed_at)
       SELECT e.id, c, 'completed', 1 - 0.8 ^ c, round(266200 * 0.8 ^ c)::int, 266200,
              jsonb_build_array(jsonb_build_object('name', 'dense1', 'alive', round(235200 * 0.8 ^ c)::int, 'total', 235200),
                                jsonb_build_object('name', 'dense2', 'alive', round(30000 * 0.8 ^ c)::int, 'total', 30000),
                                jsonb_build_object('name', 'dense3', 'alive', 1000, 'total', 1000)),
              e.best_accuracy - abs(c - 8) * 0.002, 0.3 + c * 0.01,
              ARRAY[e.best_accuracy - abs(c - 8) * 0.002 - 0.011, e.best_accuracy - abs(c - 8) * 0.002 - 0.007, e.best_accuracy - abs(c - 8) * 0.002 - 0.009, e.best_accuracy - abs(c - 8) * 0.002 - 0.012],
              '{"train": 61000, "aggregate": 2400}'::jsonb, e.created_at + c * interval '1 minute', e.created_at + (c + 1) * interval '1 minute'
         FROM experiments e CROSS JOIN generate_series(0, $1 - 1) AS c WHERE e.owner = 'bench'`,
      [cycleCount],
    );
    await runner.query(
      `INSERT INTO particles (experiment_id, cycle_index, particle_index, seed, status, worker_id, accuracy, loss, started_at, completed_at)
       SELECT c.experiment_id, c.cycle_index, p, p * 1000003 + c.cycle_index, 'completed', 'bench-worker-' || (p % 2), c.particle_accuracies[p + 1], c.loss, c.started_at, c.completed_at
         FROM cycles c JOIN experiments e ON e.id = c.experiment_id AND e.owner = 'bench' CROSS JOIN generate_series(0, $1 - 1) AS p`,
      [particleCount],
    );
    await runner.query(
      `INSERT INTO experiment_frontiers (experiment_id, plot)
       SELECT experiment_id, json_build_object(
                'cycle', json_agg(cycle_index ORDER BY cycle_index), 'sparsity', json_agg(sparsity ORDER BY cycle_index),
                'accuracy', json_agg(accuracy ORDER BY cycle_index), 'loss', json_agg(loss ORDER BY cycle_index),
                'particleAccuracies', json_agg(particle_accuracies ORDER BY cycle_index))
         FROM cycles c JOIN experiments e ON e.id = c.experiment_id AND e.owner = 'bench' GROUP BY experiment_id`,
    );
    await runner.query(`SET session_replication_role = DEFAULT`);
    await runner.query(`ANALYZE`);
  } finally {
    await runner.release();
  }
  return (performance.now() - start) / 1000;
}
