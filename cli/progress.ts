/**
 * Progress bars for `swamp run` on a terminal: the cycle, and one line per particle with its epoch,
 * examples/s and loss. Redrawn in place on stderr, at most ten times a second.
 */
import type { TaskProgress } from "../worker/engine/context.js";
import type { RunEvent } from "../worker/run/local-run.js";

interface ParticleLine {
  fraction: number;
  epoch: number;
  epochs: number;
  examplesPerSecond: number;
  loss: number;
  done: boolean;
  /** Time and example count of the first progress report, the base of the examples/s figure. */
  firstReport?: { time: number; examples: number };
}

const BAR_WIDTH = 24;

function bar(fraction: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round(fraction * BAR_WIDTH)));
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
}

export class ProgressDisplay {
  private cycle = 0;
  private cycles = 0;
  private particles: ParticleLine[] = [];
  private drawnLines = 0;
  private lastDraw = 0;
  private header = "";
  private pretraining: TaskProgress | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  handle(event: RunEvent): void {
    switch (event.type) {
      case "started":
        this.cycles = event.cycles;
        this.header = `swamp run ${event.configHash.slice(0, 12)} on ${event.backend.name}${event.backend.simd ? " (SIMD)" : ""}, ${event.workers} thread(s)${event.resumed ? ", resumed" : ""}`;
        this.resetParticles(event.particles);
        this.draw(true);
        return;
      case "pretrain-progress":
        this.pretraining = event.progress;
        this.draw(false);
        return;
      case "pretrain-done":
        this.pretraining = undefined;
        this.draw(true);
        return;
      case "particle-progress": {
        if (event.cycle !== this.cycle) {
          this.cycle = event.cycle;
          this.resetParticles(this.particles.length);
        }
        const line = this.particles[event.particle]!;
        const now = Date.now();
        line.firstReport ??= { time: now, examples: event.progress.examples };
        const elapsed = (now - line.firstReport.time) / 1000;
        line.fraction = event.progress.examples / event.progress.totalExamples;
        line.epoch = event.progress.epoch;
        line.epochs = event.progress.epochs;
        line.examplesPerSecond = elapsed > 0 ? (event.progress.examples - line.firstReport.examples) / elapsed : 0;
        line.loss = event.progress.loss;
        this.draw(false);
        return;
      }
      case "particle-done": {
        const line = this.particles[event.particle];
        if (line) {
          line.done = true;
          line.fraction = 1;
        }
        this.draw(false);
        return;
      }
      case "cycle-done":
        this.clear();
        this.stream.write(`cycle ${event.summary.cycle}: sparsity ${(event.summary.sparsity * 100).toFixed(1)}%  accuracy ${(event.summary.accuracy * 100).toFixed(2)}%${event.reused ? "  (already done)" : ""}\n`);
        this.cycle = event.summary.cycle + 1;
        this.resetParticles(this.particles.length);
        this.draw(true);
        return;
      default:
        return;
    }
  }

  finish(): void {
    this.clear();
  }

  private resetParticles(count: number): void {
    this.particles = Array.from({ length: count }, () => ({ fraction: 0, epoch: 0, epochs: 0, examplesPerSecond: 0, loss: Number.NaN, done: false }));
  }

  private clear(): void {
    if (this.drawnLines > 0) this.stream.write(`\x1b[${this.drawnLines}A\x1b[J`);
    this.drawnLines = 0;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const lines = [this.header];
    if (this.pretraining) {
      const p = this.pretraining;
      lines.push(`pre-training to the rewind point ${bar(p.examples / p.totalExamples)} epoch ${p.epoch}/${p.epochs}  loss ${p.loss.toFixed(3)}`);
    }
    lines.push(`cycle ${Math.min(this.cycle, this.cycles - 1)}/${this.cycles - 1}`);
    this.particles.forEach((p, i) => {
      const detail = p.done
        ? "done"
        : p.epochs === 0
          ? "waiting for a thread"
          : `epoch ${p.epoch}/${p.epochs}  ${Math.round(p.examplesPerSecond).toLocaleString("en-US")} ex/s  loss ${Number.isNaN(p.loss) ? "-" : p.loss.toFixed(3)}`;
      lines.push(`  particle ${i} ${bar(p.fraction)} ${detail}`);
    });
    this.clear();
    this.stream.write(`${lines.join("\n")}\n`);
    this.drawnLines = lines.length;
  }
}
