import { Args, Field, FieldResolver, Float, ID, Int, ObjectType, Resolver, Root, Subscription } from "type-graphql";
import type { SubscribeResolverData } from "type-graphql";
import { metricWindowsOf } from "../live/metric-windows.js";
import type { MetricColumnBatch as WindowBatch, MetricColumnSeries as WindowSeries, WindowMember } from "../live/metric-window.js";
import { backlogLimitOf, cutOffSlowSocket, socketOf, stopWhenCutOff } from "../live/live-sockets.js";
import { packedColumn } from "../live/packed-series.js";
import { requireScope } from "./auth.js";
import type { GraphQLContext } from "./context.js";
import { checkedSubscriptionArgs, MetricsSubscriptionArgs } from "./metrics-subscription-args.js";

const PACKED_INTEGERS =
  "Packed (schema/packed-columns.ts): base64 of unsigned LEB128 varints; walking the column from a previous entry of 0, each run of k entries that differ from their predecessor by the same d is 2·zigzag(d) + (k > 1), then k when k > 1 (zigzag(d) = 2d for d ≥ 0, −2d − 1 below).";
const PACKED_FLOATS = "Packed (schema/packed-columns.ts): base64 of little-endian IEEE-754 doubles, 8 bytes a point, the stored numbers exactly.";

@ObjectType("MetricColumns", {
  description:
    "One series of a MetricColumnBatch as columns: entry i of every list is one point, in step order. Each column comes as a list or packed into one string (packedSteps, …), a fraction of the bytes for long histories, decoded by schema/packed-columns.ts, the dashboard and the Python client.",
})
export class MetricColumns {
  @Field(() => Int)
  cycle!: number;

  @Field(() => Int, { nullable: true, description: "Null: the cycle's averaged model." })
  particle!: number | null;

  @Field(() => String)
  key!: string;

  @Field(() => [Int], { description: "Optimiser steps since the task began (MetricPoint.step)." })
  steps!: number[];

  @Field(() => [Int], { description: "The experiment-wide step of each point (MetricPoint.globalStep)." })
  globalSteps!: number[];

  @Field(() => [Float], { description: "Fractional epochs since the task began." })
  epochs!: number[];

  @Field(() => [Float])
  values!: number[];

  @Field(() => [Float], { description: "When each point was recorded, in milliseconds since the Unix epoch." })
  times!: number[];
}

@Resolver(() => MetricColumns)
export class PackedMetricColumnsResolver {
  @FieldResolver(() => String, { description: `steps, packed. ${PACKED_INTEGERS}` })
  packedSteps(@Root() series: WindowSeries): string {
    return packedColumn(series, "packedSteps");
  }

  @FieldResolver(() => String, { description: `globalSteps, packed. ${PACKED_INTEGERS}` })
  packedGlobalSteps(@Root() series: WindowSeries): string {
    return packedColumn(series, "packedGlobalSteps");
  }

  @FieldResolver(() => String, { description: `epochs, packed. ${PACKED_FLOATS}` })
  packedEpochs(@Root() series: WindowSeries): string {
    return packedColumn(series, "packedEpochs");
  }

  @FieldResolver(() => String, { description: `values, packed. ${PACKED_FLOATS}` })
  packedValues(@Root() series: WindowSeries): string {
    return packedColumn(series, "packedValues");
  }

  @FieldResolver(() => String, { description: `times, packed. ${PACKED_INTEGERS}` })
  packedTimes(@Root() series: WindowSeries): string {
    return packedColumn(series, "packedTimes");
  }
}

@ObjectType("MetricColumnBatch", {
  description: "Points of a metricColumns subscription, a list (or a packed string) per field per series: the stored history first (history: true, the last of it historyComplete: true), then live batches.",
})
export class MetricColumnBatch {
  @Field(() => ID)
  experimentId!: string;

  @Field(() => Boolean, { description: "True for batches replaying what was stored before the subscription began." })
  history!: boolean;

  @Field(() => Boolean, { description: "True on the last history batch: the replay is complete, live batches follow." })
  historyComplete!: boolean;

  @Field(() => [MetricColumns])
  series!: WindowSeries[];
}


@Resolver(() => MetricColumnBatch)
export class MetricColumnsResolver {
  @Subscription(() => MetricColumnBatch, {
    name: "metricColumns",
    description:
      "The metrics subscription in a compact shape (columns per series): the stored history in batches, then live batches, with no gap and no duplicate. Subscribers of the same window share one history read and one serialisation of each batch; a client that reads too slowly is closed with code 4413.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, MetricsSubscriptionArgs, GraphQLContext>) => metricColumnBatches(context, args),
  })
  metricColumns(
    @Root() batch: WindowBatch,
    @Args(() => MetricsSubscriptionArgs) _args: MetricsSubscriptionArgs,
  ): WindowBatch {
    return batch;
  }
}

async function metricColumnBatches(context: GraphQLContext, args: MetricsSubscriptionArgs): Promise<WindowMember> {
  requireScope(context, "read", "subscription metricColumns");
  const checked = checkedSubscriptionArgs(args);
  const experimentId = checked.experimentId;
  // Sorted, so that subscribers naming the same keys in another order share one window.
  const keys = checked.keys && checked.keys.sort();
  const socket = socketOf(context);
  let unregister: () => void = () => undefined;
  const member = await metricWindowsOf(context.dataSource, context.pubsub).join(
    { experimentId, cycle: args.cycle ?? null, particle: args.particle ?? null, keys },
    {
      maxBacklogBytes: socket ? backlogLimitOf(socket) : Number.POSITIVE_INFINITY,
      extraBacklog: () => socket?.bufferedAmount ?? 0,
      onTooSlow: (bytes) => {
        if (socket) cutOffSlowSocket(socket, bytes);
      },
      onEnd: () => unregister(),
    },
  );
  if (socket) unregister = stopWhenCutOff(socket, () => void member.return());
  return member;
}
