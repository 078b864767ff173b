/**
 * Writes one line to stdout and returns only once it is in the pipe. `process.stdout.write` may queue the line in
 * this process when the pipe is full, and a SIGKILL then loses it: an acknowledgement printed but never delivered,
 * which would make the ledger resume a writer behind what it committed. A ledger line must not be lost that way.
 */
import { writeSync } from "node:fs";

const pause = new Int32Array(new SharedArrayBuffer(4));

export function ackLine(value: unknown): void {
  let buf = Buffer.from(`${JSON.stringify(value)}\n`);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(1, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(pause, 0, 0, 1); // the reader is behind: wait for room in the pipe
    }
  }
}
