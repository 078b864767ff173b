/**
 * Peer: the Python tool agent-coherence (PyPI, pinned in bench/peer/requirements.txt) doing the same compare-and-set
 * commit workload on the same machine as fenced-state, in the same round: one writer, commits round-robin over 100
 * keys, each expecting the version the previous commit returned, ~120 B values; every key's final version is checked
 * (no lost update). fenced-state runs it twice: through its Python client over HTTP (`fenced serve`), and in-process
 * (TypeScript `store.commit`). The Python side is bench/peer/cas_commits.py.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { op, openStore } from "../../src/index.js";
import { ROOT, startCoordinator } from "../coordinator.js";
import { figure, perSecond, type Figure, type Target } from "../report.js";
import { bySize, type Section, type Size } from "../section.js";

const KEYS = 100;
const PYTHON = join(ROOT, ".venv", "bin", "python");
const run = promisify(execFile);

const sizes = (size: Size) =>
  bySize(size, {
    full: { commits: 10_000, rounds: 5 },
    quick: { commits: 2_000, rounds: 3 },
    tiny: { commits: 100, rounds: 1 },
  });

interface PeerRun {
  rate: number;
  lost: number;
}

/**
 * Makes sure .venv has agent-coherence and the fenced-state client (scripts/setup.sh installs both; this fills the
 * gap on a machine where it has not run), through pip from PyPI and from adapters/python.
 */
async function ensurePython(): Promise<void> {
  if (!existsSync(PYTHON)) await run("python3", ["-m", "venv", join(ROOT, ".venv")]);
  const probe = await run(PYTHON, ["-c", "import ccs, fenced_state"]).then(
    () => true,
    () => false,
  );
  if (probe) return;
  await run(
    PYTHON,
    [
      "-m",
      "pip",
      "install",
      "-q",
      "-r",
      join(ROOT, "bench/peer/requirements.txt"),
      "-e",
      join(ROOT, "adapters/python"),
    ],
    {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}

async function python(args: string[]): Promise<PeerRun> {
  const { stdout } = await run(PYTHON, [join(ROOT, "bench/peer/cas_commits.py"), ...args], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as PeerRun;
}

async function inProcess(path: string, commits: number): Promise<PeerRun> {
  const store = await openStore({ path });
  const versions = new Array<number>(KEYS).fill(0);
  const t0 = performance.now();
  for (let i = 0; i < commits; i++) {
    const k = i % KEYS;
    versions[k] = (
      await store.commit({
        key: `bench/k${k}`,
        op: op.set({ text: "x".repeat(100), n: i }),
        expectVersion: versions[k]!,
      })
    ).version;
  }
  const rate = perSecond(commits, performance.now() - t0);
  let final = 0;
  for (let k = 0; k < KEYS; k++) final += (await store.read(`bench/k${k}`)).version;
  await store.close();
  return { rate, lost: versions.reduce((a, b) => a + b, 0) - final };
}

export const peerSection: Section = {
  name: "peer",
  title: "Peer: agent-coherence (Python) vs fenced-state, the same CAS commit workload",
  steps: (size) => 1 + sizes(size).rounds,
  async run(ctx) {
    const { commits, rounds } = sizes(ctx.size);
    ctx.progress.status("peer: checking the Python venv (agent-coherence, fenced-state client)");
    await ensurePython();
    ctx.progress.step("peer: Python ready");
    const peer: PeerRun[] = [];
    const client: PeerRun[] = [];
    const local: PeerRun[] = [];
    for (let r = 0; r < rounds; r++) {
      const dir = ctx.tempDir();
      ctx.progress.status(`peer: round ${r + 1}/${rounds}, agent-coherence`);
      peer.push(
        await python([
          "agent-coherence",
          "--db",
          join(dir, "agent-coherence.db"),
          "--commits",
          String(commits),
          "--keys",
          String(KEYS),
        ]),
      );
      ctx.progress.status(`peer: round ${r + 1}/${rounds}, fenced-state Python client`);
      const coordinator = await startCoordinator(join(dir, "fenced-http.db"));
      try {
        client.push(
          await python([
            "fenced-client",
            "--url",
            coordinator.url,
            "--commits",
            String(commits),
            "--keys",
            String(KEYS),
          ]),
        );
      } finally {
        await coordinator.stop();
      }
      ctx.progress.status(`peer: round ${r + 1}/${rounds}, fenced-state in-process`);
      local.push(await inProcess(join(dir, "fenced-local.db"), commits));
      ctx.progress.step(`peer: round ${r + 1}/${rounds}`);
    }
    const baseline = {
      name: "agent-coherence 0.15.0 (Python, in-process coordinator)",
      rounds: peer.map((x) => x.rate),
    };
    const lost = [...peer, ...client, ...local].reduce((n, x) => n + Math.abs(x.lost), 0);
    const figures: Figure[] = [
      figure(
        "CAS commits/s, 1 writer, 100 keys",
        "commits/s",
        { name: "fenced-state Python client → fenced serve (HTTP)", rounds: client.map((x) => x.rate) },
        baseline,
        {
          details: { commits, "lost updates": client.reduce((n, x) => n + x.lost, 0) },
        },
      ),
      figure(
        "CAS commits/s, 1 writer, 100 keys",
        "commits/s",
        { name: "fenced-state in-process (TypeScript)", rounds: local.map((x) => x.rate) },
        baseline,
        {
          details: { commits, "lost updates": local.reduce((n, x) => n + x.lost, 0) },
        },
      ),
    ];
    const targets: Target[] = [
      {
        kind: "safety",
        text: "zero lost updates (agent-coherence and fenced-state, every round)",
        measured: `${lost} lost`,
        met: lost === 0,
      },
    ];
    return {
      figures,
      targets,
      notes: [
        "All three on SQLite in WAL mode with synchronous=NORMAL, each on its own file. agent-coherence stores the content's hash and version (its registry keeps no body unless version retention is on); fenced-state stores the value, an event-log row and, for the Python client, the opId's idempotency record.",
        "agent-coherence runs its coordinator in the writer's own process; the fenced-state Python client crosses HTTP to `fenced serve` on loopback for every commit.",
        `agent-coherence lost updates: ${peer.reduce((n, x) => n + x.lost, 0)} (its final versions checked the same way).`,
      ],
    };
  },
};
