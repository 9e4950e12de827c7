/** Checks and plan inputs shared by the kinds that belong to a pruning cycle. */
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef, MessageProblem } from "../../schema/fleet-message-fields.js";
import type { LedgerEntry, PlanLedger } from "../ledger.js";

/**
 * The mask a cycle trains under: dense (null) in cycle 0, then the next mask the previous cycle's
 * aggregate recorded (`previous`: that aggregate's result).
 */
export function cycleMask(ledger: PlanLedger, cycle: number): { mask: ArtifactRef | null; previous: LedgerEntry | undefined } {
  if (cycle === 0) return { mask: null, previous: undefined };
  const previous = ledger.result("aggregate-cycle", cycle - 1);
  const mask = previous?.outputs.nextMask ?? null;
  if (!mask) throw ledger.inconsistent(`the aggregate of cycle ${cycle - 1} recorded no next mask`);
  return { mask, previous };
}

/** The cycle exists in the config, and only cycle 0 trains dense (a null mask). */
export function cycleProblems(task: { config: ExperimentConfig; cycle: number; inputs: { mask: ArtifactRef | null } }): MessageProblem[] {
  const problems: MessageProblem[] = [];
  const lastCycle = task.config.pruning.cycles;
  if (task.cycle > lastCycle) problems.push({ path: "cycle", message: `must be at most config.pruning.cycles (${lastCycle})` });
  if (task.inputs.mask === null && task.cycle > 0) problems.push({ path: "inputs.mask", message: "may be null (dense) only in cycle 0" });
  return problems;
}
