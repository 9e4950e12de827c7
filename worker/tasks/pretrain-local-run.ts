/** How `swamp run` reports pretraining: the rewind point itself is its output artifact (rewind.swt). */
import type { LocalKindRun } from "../run/local-kind.js";
import type { PretrainOutput } from "./pretrain.js";

export const pretrainLocalRun: LocalKindRun<PretrainOutput> = {
  metricsLabel: () => "pretrain",
  lastWrite: (layout) => layout.rewindWeights,
  progress: (_place, progress) => ({ type: "pretrain-progress", progress }),
  async finish(run, _place, output) {
    run.emit({ type: "pretrain-done", seconds: output.seconds, reused: false });
  },
  async resumed(run) {
    run.emit({ type: "pretrain-done", seconds: 0, reused: true });
  },
};
