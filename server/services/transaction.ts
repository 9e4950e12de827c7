import type { DataSource, EntityManager } from "typeorm";
import type { TopicName, TopicPayload } from "../../schema/subjects.js";
import type { SwampPubSub } from "../../transport/live-feed/pubsub.js";

/** What every service function needs: the database and the live feed. */
export interface ServiceDeps {
  dataSource: DataSource;
  pubsub: SwampPubSub;
}

/**
 * A unit of work. Writes go through `manager`; events are published only after the transaction
 * commits, so no subscriber ever sees an event for data that was rolled back or not yet visible.
 */
export interface Tx {
  readonly manager: EntityManager;
  publishAfterCommit<T extends TopicName>(topic: T, experimentId: string, payload: TopicPayload<T>): void;
  /** Work to run after commit (e.g. removing artifact files of deleted rows). */
  afterCommit(action: () => Promise<void>): void;
}

/**
 * Runs `work` in one database transaction and, once it has committed, publishes its events in
 * order. The coordinator records a whole task result through one call of this.
 */
export async function inTransaction<T>(deps: ServiceDeps, work: (tx: Tx) => Promise<T>): Promise<T> {
  const actions: Array<() => Promise<void>> = [];
  const result = await deps.dataSource.transaction(async (manager) => {
    const tx: Tx = {
      manager,
      publishAfterCommit: (topic, experimentId, payload) => {
        actions.push(() => deps.pubsub.publish(topic, experimentId, payload));
      },
      afterCommit: (action) => {
        actions.push(action);
      },
    };
    return work(tx);
  });
  // Committed: a failing event or clean-up cannot undo the change, so it is reported, not thrown.
  for (const action of actions) {
    try {
      await action();
    } catch (error) {
      console.error(`after commit: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return result;
}
