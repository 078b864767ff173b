/**
 * What `close()` means, the same for a store and for every backend: it waits for every call issued before it, and
 * every call after it fails with `CLOSED` (typed, not retryable) instead of a driver error or, worse, success.
 */
import type { CheckpointReader } from "./checkpoints.js";
import { ClosedError } from "./errors.js";

/** Counts the calls in flight; `close` runs its body once they have all settled, and refuses every later call. */
export class CloseGate {
  private active = 0;
  private closing: Promise<void> | undefined;
  private idle: (() => void) | undefined;

  /** Whether `close` has begun. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Runs `body` as a call in flight, or rejects with `ClosedError` once `close` has begun. */
  run<T>(body: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ClosedError());
    this.active++;
    let result: Promise<T>;
    try {
      result = body();
    } catch (err) {
      this.leave();
      return Promise.reject(err);
    }
    // then(), not finally(): one promise per call instead of three (a commit passes two gates).
    return result.then(
      (value) => {
        this.leave();
        return value;
      },
      (err: unknown) => {
        this.leave();
        throw err;
      },
    );
  }

  /** Refuses new calls, waits for those in flight, then runs `release` once; later calls return the same promise. */
  close(release: () => Promise<void>): Promise<void> {
    this.closing ??= (async () => {
      if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      await release();
    })();
    return this.closing;
  }

  private leave(): void {
    if (--this.active === 0) this.idle?.();
  }
}

/** `reader` with each read run through `gate`. */
export function gatedReader(reader: CheckpointReader, gate: CloseGate): CheckpointReader {
  return {
    getCheckpoint: (ref) => gate.run(() => reader.getCheckpoint(ref)),
    getHeadCheckpoint: (q) => gate.run(() => reader.getHeadCheckpoint(q)),
    listCheckpoints: (q) => gate.run(() => reader.listCheckpoints(q)),
  };
}
