import { request } from "../../api/graphql-client.ts";
import { say } from "../../store.ts";
import documents from "./experiment.graphql";

const OPERATIONS = { cancel: "CancelExperiment", retry: "RetryExperiment", delete: "DeleteExperiment" } as const;

/** Cancels, retries or deletes each experiment; reports failures; returns how many succeeded. */
export async function runAction(action: keyof typeof OPERATIONS, ids: string[]): Promise<number> {
  let done = 0;
  const failures: string[] = [];
  for (const id of ids) {
    try {
      await request(documents, OPERATIONS[action], { id });
      done++;
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (failures.length > 0) say(`${action} failed for ${failures.length}: ${[...new Set(failures)].join("; ")}`, "error");
  return done;
}
