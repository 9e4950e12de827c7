/** The one in-process bus: subject routing as over NATS, queue groups, literal subjects, ending. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InProcessBus } from "../../transport/in-process-bus.js";
import { InProcessPubSub } from "../../transport/live-feed/in-process-pubsub.js";

describe("in-process bus", () => {
  it("delivers to exact subjects and to patterns where * matches one token", () => {
    const bus = new InProcessBus<string>();
    const got: string[] = [];
    bus.subscribe("swamp.metrics.a", (subject, message) => got.push(`exact ${subject} ${message}`));
    bus.subscribe("swamp.metrics.*", (subject, message) => got.push(`any ${subject} ${message}`));
    bus.publish("swamp.metrics.a", "1");
    bus.publish("swamp.metrics.b", "2");
    bus.publish("swamp.metrics.a.b", "3");
    assert.deepEqual(got, ["exact swamp.metrics.a 1", "any swamp.metrics.a 1", "any swamp.metrics.b 2"]);
  });

  it("gives each message to one member of a queue group, in turn", () => {
    const bus = new InProcessBus<number>();
    const got: Array<[string, number]> = [];
    bus.subscribe("s.*", (_subject, n) => got.push(["x", n]), { queueGroup: "g" });
    bus.subscribe("s.1", (_subject, n) => got.push(["y", n]), { queueGroup: "g" });
    bus.subscribe("s.1", (_subject, n) => got.push(["plain", n]));
    bus.publish("s.1", 1);
    bus.publish("s.1", 2);
    assert.deepEqual(got.filter(([who]) => who === "plain").length, 2);
    const grouped = got.filter(([who]) => who !== "plain");
    assert.equal(grouped.length, 2);
    assert.notEqual(grouped[0]![0], grouped[1]![0], "the two members took turns");
  });

  it("keeps a literal subscription literal: a * in it matches only itself", () => {
    const bus = new InProcessBus<string>();
    const got: string[] = [];
    bus.subscribe("swamp.cycle-completed.*", (subject) => got.push(subject), { literal: true });
    bus.publish("swamp.cycle-completed.someone-else", "x");
    bus.publish("swamp.cycle-completed.*", "y");
    assert.deepEqual(got, ["swamp.cycle-completed.*"]);
  });

  it("stops delivering once a subscription ends or the bus closes", () => {
    const bus = new InProcessBus<string>();
    const got: string[] = [];
    const first = bus.subscribe("a.b", (_subject, message) => got.push(`first ${message}`));
    const second = bus.subscribe("a.*", (_subject, message) => got.push(`second ${message}`));
    assert.equal(bus.subscriberCount(), 2);
    first.end();
    assert.equal(first.isActive(), false);
    bus.publish("a.b", "1");
    bus.close();
    assert.equal(second.isActive(), false);
    bus.publish("a.b", "2");
    assert.deepEqual(got, ["second 1"]);
    assert.equal(bus.subscriberCount(), 0);
  });

  it("carries the live feed: an experiment id with a * reaches no other experiment's subscribers", async () => {
    const bus = new InProcessBus<unknown>();
    const feed = new InProcessPubSub(10, bus);
    const other = await feed.subscribe("cycle-completed", "11111111-1111-4111-8111-111111111111");
    const wild = await feed.subscribe("cycle-completed", "*");
    await feed.publish("cycle-completed", "11111111-1111-4111-8111-111111111111", { experimentId: "11111111-1111-4111-8111-111111111111", cycleIndex: 0 });
    await feed.publish("cycle-completed", "*", { experimentId: "*", cycleIndex: 7 });
    assert.deepEqual((await other.next()).value, { experimentId: "11111111-1111-4111-8111-111111111111", cycleIndex: 0 });
    assert.deepEqual((await wild.next()).value, { experimentId: "*", cycleIndex: 7 }, "its first event is its own, not the other experiment's");
    await wild.return();
    assert.equal(feed.subscriberCount(), 1);
    await feed.close();
    assert.equal(bus.subscriberCount(), 0, "closing the feed ends its subscriptions on the shared bus");
  });
});
