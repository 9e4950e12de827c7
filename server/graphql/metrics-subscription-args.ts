import { ArgsType, Field, ID, Int } from "type-graphql";
import { METRIC_POINT_LIMITS } from "../../schema/metrics.js";
import { MAX_KEYS_PER_QUERY, requireMetricKeys } from "../services/metrics.js";
import { InvalidInputError } from "../services/errors.js";
import { requireIntInRange, requireUuid } from "../services/validation.js";

/** The window of points the `metrics` and `metricColumns` subscriptions follow (one declaration for both). */
@ArgsType()
export class MetricsSubscriptionArgs {
  @Field(() => ID)
  experimentId!: string;

  @Field(() => Int, { nullable: true })
  cycle?: number | null;

  @Field(() => Int, { nullable: true, description: "Only this particle's series." })
  particle?: number | null;

  @Field(() => [String], { nullable: true })
  keys?: string[] | null;
}

/**
 * The arguments of the `metrics` and `metricColumns` subscriptions, checked: the experiment id, and
 * the keys without duplicates (null for every key).
 */
export function checkedSubscriptionArgs(args: MetricsSubscriptionArgs): { experimentId: string; keys: string[] | null } {
  const experimentId = requireUuid(args.experimentId, "experimentId");
  if (args.cycle != null) requireIntInRange(args.cycle, "cycle", 0, METRIC_POINT_LIMITS.maxCycle);
  if (args.particle != null) requireIntInRange(args.particle, "particle", 0, METRIC_POINT_LIMITS.maxParticle);
  if (args.keys && args.keys.length > MAX_KEYS_PER_QUERY) throw InvalidInputError.single("keys", `at most ${MAX_KEYS_PER_QUERY} keys`);
  if (args.keys) requireMetricKeys(args.keys, "keys");
  return { experimentId, keys: args.keys && args.keys.length > 0 ? [...new Set(args.keys)] : null };
}
