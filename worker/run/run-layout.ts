/**
 * Every on-disk name of a `swamp run` output directory, in one place.
 *
 *   config.json                      the filled config
 *   run.json                         config hash, backend, versions, start time
 *   metrics.jsonl                    metric points of finished tasks, one JSON object per line
 *   cycles.jsonl                     one summary per finished cycle (what --json prints)
 *   rewind.swt                       the rewind point θ_T0
 *   cycle-NNN/mask.bin               the cycle's mask, packed bits
 *   cycle-NNN/particle-P.swt         particle P's model (its SWA average or final weights)
 *   cycle-NNN/particle-P.json        particle P's summary
 *   cycle-NNN/average.swt            the averaged model, dense layout
 *   cycle-NNN/average.swsp           the averaged model, sparse (bit mask + survivors + checksum)
 *   cycle-NNN/model/model.json       the averaged model for tf.loadLayersModel
 *   cycle-NNN/model/weights.bin
 *   cycle-NNN/cycle.json             the cycle's summary, written last: its presence means done
 */
import { join } from "node:path";
import { TFJS_WEIGHTS_FILE } from "../formats/tfjs-model.js";

export class RunLayout {
  constructor(readonly root: string) {}

  get config(): string {
    return join(this.root, "config.json");
  }
  get runInfo(): string {
    return join(this.root, "run.json");
  }
  get metrics(): string {
    return join(this.root, "metrics.jsonl");
  }
  get cycles(): string {
    return join(this.root, "cycles.jsonl");
  }
  get rewindWeights(): string {
    return join(this.root, "rewind.swt");
  }
  cycleDir(cycle: number): string {
    return join(this.root, `cycle-${String(cycle).padStart(3, "0")}`);
  }
  mask(cycle: number): string {
    return join(this.cycleDir(cycle), "mask.bin");
  }
  particleWeights(cycle: number, particle: number): string {
    return join(this.cycleDir(cycle), `particle-${particle}.swt`);
  }
  particleSummary(cycle: number, particle: number): string {
    return join(this.cycleDir(cycle), `particle-${particle}.json`);
  }
  averageWeights(cycle: number): string {
    return join(this.cycleDir(cycle), "average.swt");
  }
  sparseModel(cycle: number): string {
    return join(this.cycleDir(cycle), "average.swsp");
  }
  tfjsModelDir(cycle: number): string {
    return join(this.cycleDir(cycle), "model");
  }
  tfjsModelJson(cycle: number): string {
    return join(this.tfjsModelDir(cycle), "model.json");
  }
  tfjsWeights(cycle: number): string {
    return join(this.tfjsModelDir(cycle), TFJS_WEIGHTS_FILE);
  }
  cycleSummary(cycle: number): string {
    return join(this.cycleDir(cycle), "cycle.json");
  }
}
