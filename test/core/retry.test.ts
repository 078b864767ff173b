/**
 * The one retry loop (src/core/retry.ts): `retryUnavailable` resends while the outcome is unknown (`UNAVAILABLE`) and
 * nothing else, at most 5 times after the first; the last error comes back unchanged (G6); an abort stops the waiting
 * at once with the signal's reason. `retryConflicts` is exercised through `update` in the conformance suite.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { retryConflicts, retryUnavailable, sleep, withBackoff } from "../../src/core/retry.js";
import { FencedError, UnavailableError, VersionConflictError } from "../../src/index.js";

describe("retryUnavailable", () => {
  it("resends on UNAVAILABLE until it succeeds", async () => {
    let calls = 0;
    const result = await retryUnavailable(async () => {
      if (++calls < 3) throw new UnavailableError({ cause: "reset" });
      return "landed";
    });
    expect({ result, calls }).toEqual({ result: "landed", calls: 3 });
  });

  it("gives up after 5 resends with the last error unchanged", async () => {
    const errors: Error[] = [];
    const attempt = async () => {
      const err = new UnavailableError({ cause: `attempt ${errors.length + 1}` });
      errors.push(err);
      throw err;
    };
    const err = await retryUnavailable(attempt).catch((e: unknown) => e);
    expect(errors).toHaveLength(6);
    expect(err).toBe(errors[5]);
  }, 30_000);

  it("never resends another error: it is the answer", async () => {
    let calls = 0;
    const fenced = new FencedError({ key: "k", heldEpoch: 1, currentEpoch: 2, reason: "superseded" });
    await expect(
      retryUnavailable(async () => {
        calls++;
        throw fenced;
      }),
    ).rejects.toBe(fenced);
    expect(calls).toBe(1);
  });

  it("stops waiting when its signal aborts, with the signal's reason", async () => {
    const stop = new AbortController();
    const reason = new Error("caller gave up");
    let calls = 0;
    const retrying = retryUnavailable(async () => {
      calls++;
      if (calls === 1) setTimeout(() => stop.abort(reason), 1);
      throw new UnavailableError({ cause: "reset" });
    }, stop.signal);
    await expect(retrying).rejects.toBe(reason);
    expect(calls).toBeLessThanOrEqual(2);
  });
});

describe("retryConflicts", () => {
  it("re-runs on VERSION_CONFLICT, passing the attempt number, and never on FENCED", async () => {
    const seen: number[] = [];
    const result = await retryConflicts(async (n) => {
      seen.push(n);
      if (n < 2) throw new VersionConflictError({ key: "k", expectedVersion: n, actualVersion: n + 1 });
      return n;
    });
    expect({ result, seen }).toEqual({ result: 2, seen: [0, 1, 2] });
    let calls = 0;
    await expect(
      retryConflicts(async () => {
        calls++;
        throw new FencedError({ key: "k", heldEpoch: 1, currentEpoch: 2, reason: "superseded" });
      }),
    ).rejects.toBeInstanceOf(FencedError);
    expect(calls).toBe(1);
  });

  it("stops after `retries` re-runs", async () => {
    let calls = 0;
    const conflict = () => new VersionConflictError({ key: "k", expectedVersion: 0, actualVersion: 1 });
    await expect(
      retryConflicts(
        async () => {
          calls++;
          throw conflict();
        },
        { retries: 2, baseMs: 1 },
      ),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(calls).toBe(3);
  });
});

describe("sleep", () => {
  it("resolves after the time, and rejects at once, with the reason, when the signal is already aborted", async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    const stop = new AbortController();
    stop.abort(new Error("already"));
    await expect(sleep(60_000, stop.signal)).rejects.toThrow("already");
  });

  it("rejects with the signal's reason when it aborts during the wait, and stops listening once done", async () => {
    const stop = new AbortController();
    const waiting = sleep(60_000, stop.signal);
    stop.abort(new Error("cancelled"));
    await expect(waiting).rejects.toThrow("cancelled");
    const other = new AbortController();
    await sleep(1, other.signal);
    other.abort(new Error("late")); // after the sleep resolved: nothing left listening, nothing thrown
  });
});

describe("the backoff schedule (fake timers: no wall-clock timing)", () => {
  afterEach(() => {
    // Mocks first: the setTimeout spy wraps the fake timer, which must not be put back after the real one returns.
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("waits a random share of min(maxMs, baseMs · 2^n) before retry n + 1", async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const waits = vi.spyOn(globalThis, "setTimeout");
    let calls = 0;
    const retrying = withBackoff(
      async () => {
        if (++calls < 6) throw new Error("again");
        return calls;
      },
      () => true,
      { baseMs: 2, maxMs: 10 },
    );
    await vi.runAllTimersAsync();
    expect(await retrying).toBe(6);
    expect(waits.mock.calls.map((c) => c[1])).toEqual([1, 2, 4, 5, 5]);
  });

  it("an aborted sleep leaves no timer and no listener behind", async () => {
    vi.useFakeTimers();
    const stop = new AbortController();
    const added = vi.spyOn(stop.signal, "addEventListener");
    const removed = vi.spyOn(stop.signal, "removeEventListener");
    const waiting = sleep(60_000, stop.signal);
    stop.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(vi.getTimerCount()).toBe(0);
    const done = new AbortController();
    const removedOnDone = vi.spyOn(done.signal, "removeEventListener");
    const finished = sleep(5, done.signal);
    await vi.runAllTimersAsync();
    await finished;
    expect(removedOnDone).toHaveBeenCalledWith("abort", expect.any(Function));
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).not.toHaveBeenCalled();
  });
});
