/** Real child processes running TypeScript workers through tsx, with line-oriented stdout. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  /** The next stdout line, parsed as JSON. */
  nextJson<T = Record<string, unknown>>(): Promise<T>;
  /** Resolves with the exit code and all of stderr once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Spawns `node --import tsx <file> ...args` from the project root. */
export function spawnWorker(file: string, args: string[]): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { cwd: ROOT, stdio: "pipe" });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  lines.on("line", (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else queue.push(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    // "close", not "exit": it comes after stdout and stderr are read to the end, so a last line printed just before
    // exiting is delivered before nextJson gives up, and `stderr` is whole.
    child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    child,
    exited,
    nextJson<T>() {
      const line = queue.shift();
      if (line !== undefined) return Promise.resolve(JSON.parse(line) as T);
      return new Promise<T>((resolve, reject) => {
        waiters.push((l) => resolve(JSON.parse(l) as T));
        void exited.then(({ code, stderr: err }) => reject(new Error(`worker exited (${code}) before a line: ${err}`)));
      });
    },
  };
}
