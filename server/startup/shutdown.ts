/** What the server opened, closed in reverse order: each startup step registers its own closing. */
export class Cleanups {
  private readonly steps: Array<() => Promise<void>> = [];
  private closing: Promise<void> | null = null;

  add(cleanup: () => Promise<void>): void {
    this.steps.push(cleanup);
  }

  /** Runs every registered cleanup once, newest first; later calls get the same promise. */
  closeAll(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const cleanup of this.steps.splice(0).reverse()) await cleanup();
    })());
  }
}
