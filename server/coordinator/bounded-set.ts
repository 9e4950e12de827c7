/** Remembers the most recent `capacity` keys, forgetting the oldest first. */
export class BoundedSet {
  private readonly order: string[] = [];
  private readonly members = new Set<string>();
  private head = 0;

  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.members.has(key);
  }

  /** Adds the key; returns false when it was already there. */
  add(key: string): boolean {
    if (this.members.has(key)) return false;
    this.members.add(key);
    this.order.push(key);
    if (this.order.length - this.head > this.capacity) this.members.delete(this.order[this.head++]!);
    // Compact now and then instead of shifting on every add.
    if (this.head > this.capacity) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
    return true;
  }
}
