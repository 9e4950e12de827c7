/** Cancellations (server → workers) and heartbeats (workers → server) on plain subjects. */
import type { CancelMessage, CancelMessageInput, WorkerHeartbeat, WorkerHeartbeatInput } from "../schema/fleet-messages.js";
import type { Subscription } from "./subscription.js";

export interface ControlBus {
  /** Tells every running worker to stop the experiment's tasks. */
  cancel(message: CancelMessageInput): Promise<void>;
  onCancel(handler: (message: CancelMessage) => void | Promise<void>): Promise<Subscription>;
  heartbeat(heartbeat: WorkerHeartbeatInput): Promise<void>;
  onHeartbeat(handler: (heartbeat: WorkerHeartbeat) => void | Promise<void>): Promise<Subscription>;
}
