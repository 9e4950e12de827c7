/**
 * How `swamp run` finishes a cycle once its aggregate's averaged model and next mask are written:
 * the cycle's summary (with every particle's numbers beside the average's), its metric lines, the
 * run's report (cycles.jsonl), and what `storage.keep` deletes.
 */
import { relative } from "node:path";
import { rm } from "node:fs/promises";
import type { LocalKindRun, LocalRunContext } from "../run/local-kind.js";
import { readJson, writeFileAtomic, writeJsonAtomic } from "../run/files.js";
import { runModelPath } from "../run/run-models.js";
import type { CycleSummary, ParticleSummary } from "../run/summaries.js";
import type { AggregateCycleInput, AggregateCycleOutput } from "./aggregate-cycle.js";
import type { AggregateProfileInput, AggregateProfileOutput } from "./aggregate-profile.js";

export const aggregateCycleLocalRun: LocalKindRun<AggregateCycleOutput> = {
  metricsLabel: ({ cycle }) => `cycle-${cycle}`,
  lastWrite: (layout, { cycle }) => layout.cycleSummary(cycle!),
  extraInput: (run) => ({ profile: run.profile }),
  // The profile (about 0.1 s of a LeNet cycle) runs on another thread while this one evaluates
  // and prunes; with one thread, or no profile asked for, the aggregate runs whole.
  split(run, input) {
    if (run.threads < 2 || input.profile === false) return undefined;
    const { cycle, particleWeights, mask } = input as unknown as AggregateCycleInput;
    return {
      input: { ...input, profile: false },
      beside: { kind: "aggregate-profile", cycle, particleWeights, mask } satisfies AggregateProfileInput,
      join: (aggregate, beside) => {
        const { inference } = beside as AggregateProfileOutput;
        return inference ? { ...aggregate, inference } : aggregate;
      },
    };
  },
  async finish(run, _place, aggregate) {
    const { cycle } = aggregate;
    const { config, layout } = run;
    // Every particle of the cycle has its summary by now, trained in this process or before a resume.
    const particles = await Promise.all(Array.from({ length: config.method.particles }, (_, particle) => readJson<ParticleSummary>(layout.particleSummary(cycle, particle))));
    const summary = cycleSummary(run, aggregate, particles, (performance.now() - run.cycleStarted(cycle)) / 1000);
    const time = Date.now();
    const epoch = config.training.epochs;
    await run.appendMetrics(`cycle-${cycle}`, [
      { cycle, key: "test/accuracy", step: 0, epoch, value: aggregate.accuracy, time },
      { cycle, key: "test/loss", step: 0, epoch, value: aggregate.loss, time },
      { cycle, key: "sparsity", step: 0, epoch, value: aggregate.sparsity, time },
    ]);
    await writeJsonAtomic(layout.cycleSummary(cycle), summary);
    await applyRetention(run, cycle);
    run.cycles.push(summary);
    await writeFileAtomic(layout.cycles, run.cycles.map((s) => `${JSON.stringify(s)}\n`).join(""));
    run.emit({ type: "cycle-done", summary, reused: false });
  },
  async resumed(run, { cycle }) {
    const summary = await readJson<CycleSummary>(run.layout.cycleSummary(cycle!));
    run.cycles.push(summary);
    run.emit({ type: "cycle-done", summary, reused: true });
  },
};

function cycleSummary(run: LocalRunContext, aggregate: AggregateCycleOutput, particles: ParticleSummary[], seconds: number): CycleSummary {
  const { cycle } = aggregate;
  const rel = (path: string) => relative(run.layout.root, path);
  const particleAccuracies = particles.map((p) => p.accuracy);
  return {
    cycle,
    sparsity: aggregate.sparsity,
    accuracy: aggregate.accuracy,
    loss: aggregate.loss,
    particleAccuracies,
    particleLosses: particles.map((p) => p.loss),
    bestParticleGap: Math.max(...particleAccuracies) - aggregate.accuracy,
    alive: aggregate.alive,
    total: aggregate.total,
    layers: aggregate.layers,
    seconds,
    ...(aggregate.inference ? { inference: aggregate.inference } : {}),
    mask: rel(run.layout.mask(cycle)),
    weights: rel(runModelPath(run.layout, cycle, "average")),
  };
}

/**
 * Applies `storage.keep` once the cycle's summary is written: what it deletes no later step
 * reads (a resumed run needs only the rewind point, the masks and the summaries of finished cycles).
 */
async function applyRetention(run: LocalRunContext, cycle: number): Promise<void> {
  const { keep } = run.config.storage;
  if (keep === "all") return;
  for (let particle = 0; particle < run.config.method.particles; particle++) await rm(runModelPath(run.layout, cycle, particle), { force: true });
  if (keep === "final" && cycle > 0) await rm(runModelPath(run.layout, cycle - 1, "average"), { force: true });
}
