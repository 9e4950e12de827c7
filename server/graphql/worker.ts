import { Arg, Ctx, Field, Int, ObjectType, Query, Resolver } from "type-graphql";
import type { WorkerState } from "../../schema/statuses.js";
import { listWorkers, type WorkerView } from "../services/workers.js";
import type { GraphQLContext } from "./context.js";
import { WorkerStateEnum } from "./enums.js";

@ObjectType("Worker", { description: "A worker process as last seen through its heartbeats." })
export class Worker {
  @Field(() => String)
  id!: string;

  @Field(() => String)
  host!: string;

  @Field(() => String, { description: "TensorFlow.js backend, e.g. wasm, cpu, tensorflow." })
  backend!: string;

  @Field(() => String)
  device!: string;

  @Field(() => Int)
  slots!: number;

  @Field(() => Int)
  runningTasks!: number;

  @Field(() => WorkerStateEnum)
  state!: WorkerState;

  @Field(() => Date)
  startedAt!: Date;

  @Field(() => Date)
  lastHeartbeatAt!: Date;
}

@Resolver(() => Worker)
export class WorkerResolver {
  @Query(() => [Worker], { description: "Workers seen, most recent heartbeat first.", complexity: ({ childComplexity }) => 1 + 100 * childComplexity })
  async workers(
    @Ctx() context: GraphQLContext,
    @Arg("includeStopped", () => Boolean, { defaultValue: false }) includeStopped: boolean,
  ): Promise<Worker[]> {
    const views = await listWorkers(context.dataSource.manager, context.settings.workerHeartbeatTimeoutMs);
    return views.filter((view) => includeStopped || view.state !== "stopped").map((view: WorkerView) => ({ ...view, state: view.effectiveState }));
  }
}
