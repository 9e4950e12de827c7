/**
 * Retries an operation while it fails with a transient transport error (see transient-errors.ts),
 * with exponential backoff, up to a time budget: a JetStream leader election or a node restart
 * is waited out in place instead of failing the work that needed the operation.
 */
import { isTransientTransportError } from "./transient-errors.js";

export interface TransientRetryPolicy {
  /** How long from the call's start to keep retrying before the last error is thrown. */
  giveUpAfterMs: number;
  /** First delay between attempts (doubled each time, up to maxDelayMs). Default 200. */
  initialDelayMs?: number;
  /** Default 5000. */
  maxDelayMs?: number;
  /** Called before each wait: keep a delivery alive, log the first one. */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
  /** While waiting: true ends the retries at once with the last error (a cancellation, a shutdown). */
  shouldStop?: () => boolean;
  /** Which errors to retry; default isTransientTransportError. */
  isTransient?: (error: unknown) => boolean;
}

export async function retryTransient<T>(operation: () => Promise<T>, policy: TransientRetryPolicy): Promise<T> {
  const isTransient = policy.isTransient ?? isTransientTransportError;
  const maxDelayMs = policy.maxDelayMs ?? 5_000;
  const deadline = Date.now() + policy.giveUpAfterMs;
  let delayMs = policy.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const remainingMs = deadline - Date.now();
      if (!isTransient(error) || remainingMs <= 0 || policy.shouldStop?.()) throw error;
      const waitMs = Math.min(delayMs, remainingMs);
      policy.onRetry?.(error as Error, attempt, waitMs);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      delayMs = Math.min(maxDelayMs, delayMs * 2);
      if (policy.shouldStop?.()) throw error;
    }
  }
}
