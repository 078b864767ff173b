/**
 * `CloseGate` (src/core/close-gate.ts), what `close()` means for a store and for every backend: it waits for every
 * call in flight — all of them, not the first to finish — then releases once; every later call is `CLOSED`.
 */
import { describe, expect, it } from "vitest";
import { CloseGate } from "../../src/core/close-gate.js";
import { ClosedError } from "../../src/index.js";

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("CloseGate", () => {
  it("close waits until every call in flight has settled, then releases once", async () => {
    const gate = new CloseGate();
    const first = deferred<string>();
    const second = deferred<string>();
    const calls = [gate.run(() => first.promise), gate.run(() => second.promise)];
    let released = 0;
    expect(gate.closed).toBe(false);
    const closing = gate.close(async () => void released++);
    expect(gate.closed).toBe(true);
    first.resolve("a");
    await calls[0];
    await new Promise((r) => setTimeout(r, 5));
    expect(released).toBe(0); // one call is still in flight
    second.resolve("b");
    expect(await Promise.all(calls)).toEqual(["a", "b"]);
    await closing;
    expect(released).toBe(1);
    expect(gate.close(async () => void released++)).toBe(closing);
    await closing;
    expect(released).toBe(1);
  });

  it("refuses every call once close has begun, with CLOSED, without running it", async () => {
    const gate = new CloseGate();
    await gate.close(async () => undefined);
    let ran = false;
    await expect(gate.run(async () => void (ran = true))).rejects.toBeInstanceOf(ClosedError);
    expect(ran).toBe(false);
  });

  it("a call whose body throws at once rejects with that error and does not hold close up", async () => {
    const gate = new CloseGate();
    const boom = new Error("sync throw");
    await expect(
      gate.run(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    let released = false;
    await gate.close(async () => void (released = true));
    expect(released).toBe(true);
  });

  it("a call that rejects counts as settled", async () => {
    const gate = new CloseGate();
    const call = gate.run(() => Promise.reject(new Error("no")));
    const closing = gate.close(async () => undefined);
    await expect(call).rejects.toThrow("no");
    await closing;
  });
});
