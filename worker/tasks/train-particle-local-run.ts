/** How `swamp run` keeps a particle: its model is the output artifact, its numbers a summary beside it. */
import type { LocalKindRun } from "../run/local-kind.js";
import { readJson, writeJsonAtomic } from "../run/files.js";
import type { ParticleSummary } from "../run/summaries.js";
import type { TrainParticleOutput } from "./train-particle.js";

export const trainParticleLocalRun: LocalKindRun<TrainParticleOutput> = {
  metricsLabel: ({ cycle, particle }) => `cycle-${cycle}/particle-${particle}`,
  lastWrite: (layout, { cycle, particle }) => layout.particleSummary(cycle!, particle!),
  progress: ({ cycle, particle }, progress) => ({ type: "particle-progress", cycle: cycle!, particle: particle!, progress }),
  async finish(run, { cycle, particle }, output) {
    const { weights: _weights, kind: _kind, ...summary } = output;
    await writeJsonAtomic(run.layout.particleSummary(cycle!, particle!), summary satisfies ParticleSummary);
    run.emit({ type: "particle-done", cycle: cycle!, particle: particle!, summary, reused: false });
  },
  async readBack(run, { cycle, particle }) {
    const summary = await readJson<ParticleSummary>(run.layout.particleSummary(cycle!, particle!));
    run.emit({ type: "particle-done", cycle: cycle!, particle: particle!, summary, reused: true });
  },
};
