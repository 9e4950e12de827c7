/**
 * Every on-disk name of a `swamp run` output directory, in one place.
 *
 *   config.json                      the filled config
 *   run.json                         config hash, backend, versions, start time
 *   metrics.jsonl                    metric points of finished tasks, one JSON object per line
 *   cycles.jsonl                     one summary per finished cycle (what --json prints)
 *   rewind.swt                       the rewind point θ_T0
 *   cycle-NNN/mask.bin               the cycle's mask, packed bits
 *   cycle-NNN/particle-P.swt         particle P's model (its SWA average or final weights), under mask.bin
 *   cycle-NNN/particle-P.json        particle P's summary
 *   cycle-NNN/average.swt            the averaged model, under mask.bin
 *   cycle-NNN/cycle.json             the cycle's summary, written last: its presence means done
 *
 * The `.swt` models are written and read only through run-models.ts: the masked format (survivors
 * of mask.bin) once the cycle prunes anything, dense for cycle 0. Run directories written before
 * that hold dense `.swt` files, `average.swsp` and `model/` (model.json + weights.bin) too: they
 * still load and resume. TF.js and self-contained sparse copies are made on export.
 * `storage.keep` in the config deletes particles (`averages`) and earlier averages (`final`).
 */
import { join } from "node:path";

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
  /** Written by earlier versions only (the averaged model, self-contained sparse). */
  legacySparseModel(cycle: number): string {
    return join(this.cycleDir(cycle), "average.swsp");
  }
  /** Written by earlier versions only: the averaged model for tf.loadLayersModel. */
  legacyTfjsModelJson(cycle: number): string {
    return join(this.cycleDir(cycle), "model", "model.json");
  }
  legacyTfjsWeights(cycle: number): string {
    return join(this.cycleDir(cycle), "model", "weights.bin");
  }
  cycleSummary(cycle: number): string {
    return join(this.cycleDir(cycle), "cycle.json");
  }
}
