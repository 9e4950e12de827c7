/** Checks shared by the kinds that belong to a pruning cycle. */
import type { ExperimentConfig } from "../../schema/config.js";
import type { ArtifactRef, MessageProblem } from "../../schema/fleet-message-fields.js";

/** The cycle exists in the config, and only cycle 0 trains dense (a null mask). */
export function cycleProblems(task: { config: ExperimentConfig; cycle: number; inputs: { mask: ArtifactRef | null } }): MessageProblem[] {
  const problems: MessageProblem[] = [];
  const lastCycle = task.config.pruning.cycles;
  if (task.cycle > lastCycle) problems.push({ path: "cycle", message: `must be at most config.pruning.cycles (${lastCycle})` });
  if (task.inputs.mask === null && task.cycle > 0) problems.push({ path: "inputs.mask", message: "may be null (dense) only in cycle 0" });
  return problems;
}
