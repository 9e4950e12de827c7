/** The consumers a transport started, so that closing it stops them all (and waits for their handlers). */
export interface Stoppable {
  stop(): Promise<void>;
}

export class Stoppables {
  private readonly members = new Set<Stoppable>();

  /** Tracks `member`; its own `stop()` also untracks it. */
  track<T extends Stoppable>(member: T): T {
    const stop = member.stop.bind(member);
    member.stop = async () => {
      this.members.delete(member);
      await stop();
    };
    this.members.add(member);
    return member;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.members].map((member) => member.stop()));
  }
}
