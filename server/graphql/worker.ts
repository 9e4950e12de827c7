import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver } from "type-graphql";
import type { WorkerState } from "../../schema/statuses.js";
import { listWorkers, workerActivity, type WorkerView } from "../services/workers.js";
import type { GraphQLContext } from "./context.js";
import { WorkerStateEnum } from "./enums.js";

@ObjectType("WorkerTask", { description: "A particle a worker is training." })
export class WorkerTask {
  @Field(() => ID)
  experimentId!: string;

  @Field(() => String)
  experimentName!: string;

  @Field(() => Int)
  cycle!: number;

  @Field(() => Int)
  particle!: number;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;
}

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

  @Field(() => [WorkerTask], { description: "Particles it is training now, as its heartbeats report them." })
  currentTasks!: WorkerTask[];

  @Field(() => Int, { description: "Particle trainings it completed in the last hour: its throughput." })
  particlesCompletedLastHour!: number;
}

@Resolver(() => Worker)
export class WorkerResolver {
  @Query(() => [Worker], { description: "Workers seen, most recent heartbeat first.", complexity: ({ childComplexity }) => 1 + 100 * childComplexity })
  async workers(
    @Ctx() context: GraphQLContext,
    @Arg("includeStopped", () => Boolean, { defaultValue: false }) includeStopped: boolean,
  ): Promise<Worker[]> {
    const views = (await listWorkers(context.dataSource.manager, context.settings.workerHeartbeatTimeoutMs)).filter((view) => includeStopped || view.state !== "stopped");
    const activity = await workerActivity(context.dataSource.manager, views.map((view) => view.id));
    return views.map((view: WorkerView) => ({
      ...view,
      state: view.effectiveState,
      currentTasks: activity.currentTasks.get(view.id) ?? [],
      particlesCompletedLastHour: activity.completedLastHour.get(view.id) ?? 0,
    }));
  }
}
