/** A FIFO async mutex: SQLite allows one writer, so write transactions queue in-process (TOOLCHAIN.md). */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  get pending(): number {
    return this.waiting;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    this.waiting++;
    try {
      await prev;
      return await fn();
    } finally {
      this.waiting--;
      release();
    }
  }
}
