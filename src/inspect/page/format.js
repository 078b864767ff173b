// How values read on the page: outcomes with a glyph as well as a colour, times, claims.
import { h } from "./dom.js";

/** Every outcome of the event log, with the glyph that tells it apart without colour. */
export const OUTCOMES = {
  committed: { glyph: "✓", label: "committed" },
  conflict: { glyph: "≠", label: "conflict" },
  fenced: { glyph: "⊘", label: "fenced" },
  replayed: { glyph: "↻", label: "replayed" },
  claimed: { glyph: "▲", label: "claimed" },
  released: { glyph: "△", label: "released" },
};

export function outcomeBadge(outcome) {
  const o = OUTCOMES[outcome] ?? { glyph: "?", label: outcome };
  return h(
    "span",
    { class: `badge o-${outcome}`, title: o.label },
    h("span", { class: "glyph", "aria-hidden": "true" }, o.glyph),
    " ",
    o.label,
  );
}

/** 13:05:02.118 for today, else the date too. */
export function time(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const t = `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  return d.toDateString() === new Date().toDateString() ? t : `${d.toLocaleDateString()} ${t}`;
}

/** "in 4.2 s", "3 min ago". */
export function relative(ms, now = Date.now()) {
  const dt = ms - now;
  const a = Math.abs(dt);
  const text =
    a < 1000
      ? `${a} ms`
      : a < 60_000
        ? `${(a / 1000).toFixed(1)} s`
        : a < 3_600_000
          ? `${Math.round(a / 60_000)} min`
          : `${(a / 3_600_000).toFixed(1)} h`;
  return dt >= 0 ? `in ${text}` : `${text} ago`;
}

/** A claim cell: who holds the key, under which epoch, until when. */
export function claimCell(claim, now) {
  if (!claim) return h("span", { class: "muted" }, "—");
  if (!claim.live) {
    const why = claim.owner === null ? "released" : "expired";
    return h("span", { class: "claim dead", title: `epoch ${claim.epoch}` }, `${why} (epoch ${claim.epoch})`);
  }
  return h(
    "span",
    { class: "claim live", title: `expires ${new Date(claim.expiresAt).toISOString()}` },
    h("b", {}, claim.owner),
    ` · epoch ${claim.epoch} · expires ${relative(claim.expiresAt, now)}`,
  );
}

/** Pretty JSON in a <pre>. */
export function jsonBlock(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function shortId(id) {
  return id && id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : (id ?? "");
}
