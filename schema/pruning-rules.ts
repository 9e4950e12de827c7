/**
 * The pruning rules (`pruning.scope`): how the weights still alive are grouped before the smallest
 * magnitudes of each group are removed. The engine prunes with the rule and the config check uses
 * it to foresee a group emptying, so both always agree. Adding a rule is its name in
 * `PRUNING_SCOPES` (config-names.ts) plus its entry here.
 */
import type { PRUNING_SCOPES } from "./config-names.js";

export type PruningScope = (typeof PRUNING_SCOPES)[number];

export interface PruningRule {
  /** Splits the pruned layers (in layout order) into the groups ranked by magnitude separately. */
  group<L>(layers: readonly L[]): L[][];
  /** The group, as error messages name it. */
  describeGroup(group: ReadonlyArray<{ name: string; size: number }>): string;
}

export const PRUNING_RULES: { readonly [S in PruningScope]: PruningRule } = {
  global: {
    group: (layers) => [[...layers]],
    describeGroup: () => "every pruned layer",
  },
  layerwise: {
    group: (layers) => layers.map((layer) => [layer]),
    describeGroup: (group) => group.map((layer) => `layer ${layer.name} (${layer.size} weights)`).join(", "),
  },
};
