/**
 * `fenced serve` (and the http section's bare-Fastify peer) as a child process on a free loopback port, for the
 * sections that measure over HTTP.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface RunningCoordinator {
  url: string;
  stop(): Promise<void>;
}

/** Starts `fenced serve --port 0 --db <db>` (the real CLI, in its own process) and waits for its URL. */
export function startCoordinator(db: string): Promise<RunningCoordinator> {
  return startServer(["src/cli/main.ts", "serve", "--port", "0", "--db", db]);
}

/** Starts bench/raw-http-peer.ts (a bare Fastify route doing the raw conditional UPDATE) and waits for its URL. */
export function startRawPeer(db: string): Promise<RunningCoordinator> {
  return startServer(["bench/raw-http-peer.ts", "--db", db]);
}

/** Runs `script args…` under tsx in its own process until it prints "listening on <url>". */
async function startServer(args: string[]): Promise<RunningCoordinator> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`${args[0]} exited before listening: ${stderr}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
