/**
 * Runs async bodies one at a time, in call order. A backend transaction may span several awaits; within one process
 * the queue keeps a second transaction from starting on the same connection meanwhile.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(body: () => Promise<T>): Promise<T> {
    const result = this.tail.then(body);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Listeners told after each landed transaction. */
export class Listeners {
  private readonly set = new Set<() => void>();

  add(listener: () => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  notify(): void {
    for (const l of this.set) l();
  }
}
