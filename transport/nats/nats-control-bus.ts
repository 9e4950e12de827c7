/** Cancellations and worker heartbeats on plain subjects. */
import {
  parseCancelMessage,
  parseWorkerHeartbeat,
  requireMessage,
  type CancelMessage,
  type CancelMessageInput,
  type WorkerHeartbeat,
  type WorkerHeartbeatInput,
} from "../../schema/fleet-messages.js";
import type { ControlBus } from "../control-bus.js";
import { encodeMessage } from "../message-codec.js";
import type { Subscription } from "../subscription.js";
import type { NatsContext } from "./nats-context.js";
import { subscribeValidated } from "./plain-subscription.js";

export class NatsControlBus implements ControlBus {
  constructor(private readonly context: NatsContext) {}

  async cancel(message: CancelMessageInput): Promise<void> {
    const valid = requireMessage("cancel", parseCancelMessage(message));
    this.context.connection.publish(this.context.names.cancelSubject, encodeMessage(valid));
    // Cancellation should reach the workers now, not with the next buffered write.
    await this.context.connection.flush();
  }

  onCancel(handler: (message: CancelMessage) => void | Promise<void>): Promise<Subscription> {
    return subscribeValidated(this.context, this.context.names.cancelSubject, undefined, parseCancelMessage, "cancel", handler);
  }

  async heartbeat(heartbeat: WorkerHeartbeatInput): Promise<void> {
    const valid = requireMessage("heartbeat", parseWorkerHeartbeat(heartbeat));
    this.context.connection.publish(this.context.names.heartbeatSubject, encodeMessage(valid));
  }

  onHeartbeat(handler: (heartbeat: WorkerHeartbeat) => void | Promise<void>): Promise<Subscription> {
    return subscribeValidated(this.context, this.context.names.heartbeatSubject, undefined, parseWorkerHeartbeat, "heartbeat", handler);
  }
}
