/**
 * What a benchmark section reports, and how it is summarised. Every figure sits next to a baseline measured in the
 * same run (a peer library, the raw SQLite limit, the single-process rate, the smallest size), and its ratio is taken
 * round by round, so the load the machine carries during a round weighs on both sides of that round's ratio.
 */

/** Median, min and max over rounds. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

/** One measured figure: a subject next to its baseline, with the per-round ratio subject / baseline. */
export interface Figure {
  /** What was measured, e.g. `"put, 1 KB"`. */
  name: string;
  /** Unit of `subject` and `baseline`, e.g. `"ops/s"`, `"µs/op"`. */
  unit: string;
  /** Whether a larger value is better (rates) or worse (latencies, costs). */
  higherIsBetter: boolean;
  subject: { name: string; stats: Stats };
  baseline?: { name: string; stats: Stats };
  /** subject / baseline, per round. */
  ratio?: Stats;
  /** Extra per-figure facts shown in the table (conflicts per commit, p99, lost updates, …). */
  details?: Record<string, number | string>;
}

/** A target from issue 9 and whether this run met it. */
export interface Target {
  /** `safety` (zero lost updates): a miss fails the run. `speed`: a miss is reported; the README explains it. */
  kind: "speed" | "safety";
  text: string;
  measured: string;
  met: boolean;
}

export interface SectionResult {
  name: string;
  title: string;
  durationMs: number;
  figures: Figure[];
  targets: Target[];
  /** What the reader needs to read the figures right (durability, payloads, what a baseline is). */
  notes: string[];
}

/** The median (upper median for an even count), min and max of `xs`. */
export function stats(xs: readonly number[]): Stats {
  if (xs.length === 0) throw new Error("stats of no rounds");
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)]!,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    rounds: xs.length,
  };
}

/** Per-round ratios `subject[i] / baseline[i]`. */
export function ratios(subject: readonly number[], baseline: readonly number[]): Stats {
  if (subject.length !== baseline.length) throw new Error("ratio of unpaired rounds");
  return stats(subject.map((s, i) => s / baseline[i]!));
}

/** A figure from per-round samples of a subject and, optionally, its baseline. */
export function figure(
  name: string,
  unit: string,
  subject: { name: string; rounds: readonly number[] },
  baseline?: { name: string; rounds: readonly number[] },
  options: { higherIsBetter?: boolean; details?: Record<string, number | string> } = {},
): Figure {
  const f: Figure = {
    name,
    unit,
    higherIsBetter: options.higherIsBetter ?? true,
    subject: { name: subject.name, stats: stats(subject.rounds) },
  };
  if (baseline) {
    f.baseline = { name: baseline.name, stats: stats(baseline.rounds) };
    f.ratio = ratios(subject.rounds, baseline.rounds);
  }
  if (options.details) f.details = options.details;
  return f;
}

/** Operations per second for `count` operations that took `ms`. */
export const perSecond = (count: number, ms: number): number => count / (ms / 1000);

/** The p-quantile (0..1) of an ascending array. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** A number for a table: 3 significant figures, thousands separated. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString("en-US");
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

const range = (s: Stats) => (s.rounds > 1 ? ` (${fmt(s.min)}–${fmt(s.max)})` : "");

/** One section as a markdown table: figure | subject | baseline | ratio, with min–max over rounds. */
export function sectionMarkdown(r: SectionResult): string {
  const lines = [`### ${r.title}`, ""];
  const detailKeys = [...new Set(r.figures.flatMap((f) => Object.keys(f.details ?? {})))];
  lines.push(`| figure | subject | value | baseline | value | ratio${detailKeys.map((k) => ` | ${k}`).join("")} |`);
  lines.push(`|---|---|---:|---|---:|---:${detailKeys.map(() => "|---:").join("")}|`);
  for (const f of r.figures) {
    const cells = [
      f.name,
      f.subject.name,
      `${fmt(f.subject.stats.median)} ${f.unit}${range(f.subject.stats)}`,
      f.baseline?.name ?? "",
      f.baseline ? `${fmt(f.baseline.stats.median)} ${f.unit}${range(f.baseline.stats)}` : "",
      f.ratio
        ? `**${f.ratio.median.toFixed(2)}×**${f.ratio.rounds > 1 ? ` (${f.ratio.min.toFixed(2)}–${f.ratio.max.toFixed(2)})` : ""}`
        : "",
      ...detailKeys.map((k) => {
        const v = f.details?.[k];
        return v === undefined ? "" : typeof v === "number" ? fmt(v) : v;
      }),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  if (r.targets.length > 0) {
    lines.push("", "| target | measured | met |", "|---|---|:---:|");
    for (const t of r.targets) lines.push(`| ${t.text} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`);
  }
  if (r.notes.length > 0) lines.push("", ...r.notes.map((n) => `- ${n}`));
  return lines.join("\n");
}
