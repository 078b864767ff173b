// Counts over time: one stacked bar per time bucket, one colour (and legend glyph) per outcome. Plain inline SVG.
import { fill, h, svg } from "./dom.js";
import { OUTCOMES } from "./format.js";

const W = 720;
const H = 90;
const PAD = { left: 34, right: 4, top: 6, bottom: 16 };

/** Counts per bucket, live: `add(event)` counts a streamed event, `advance(now)` slides the window. */
export class CountsChart {
  constructor(root) {
    this.root = root;
    this.data = null;
    this.hidden = new Set();
  }

  /** `data` is /api/events/counts: { from, bucketMs, buckets: [{committed, conflict, …}], truncated }. */
  set(data) {
    this.data = data;
    this.render();
  }

  add(event) {
    if (!this.data) return;
    this.advance(event.ts);
    const i = Math.floor((event.ts - this.data.from) / this.data.bucketMs);
    const bucket = this.data.buckets[i];
    if (bucket && event.outcome in bucket) bucket[event.outcome]++;
    this.scheduleRender();
  }

  /** Moves the window so that `now` falls in its last bucket. */
  advance(now) {
    const d = this.data;
    if (!d) return;
    const n = d.buckets.length;
    const over = Math.floor((now - d.from) / d.bucketMs) - (n - 1);
    if (over <= 0) return;
    const shift = Math.min(over, n);
    d.buckets.splice(0, shift);
    for (let k = 0; k < shift; k++) d.buckets.push(Object.fromEntries(Object.keys(OUTCOMES).map((o) => [o, 0])));
    d.from += over * d.bucketMs;
    this.scheduleRender();
  }

  scheduleRender() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.render();
    });
  }

  render() {
    const d = this.data;
    if (!d) return;
    const outcomes = Object.keys(OUTCOMES);
    const totals = Object.fromEntries(outcomes.map((o) => [o, d.buckets.reduce((s, b) => s + (b[o] ?? 0), 0)]));
    const max = Math.max(1, ...d.buckets.map((b) => outcomes.reduce((s, o) => s + (b[o] ?? 0), 0)));
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const bw = plotW / d.buckets.length;
    const bars = [];
    d.buckets.forEach((b, i) => {
      let y = PAD.top + plotH;
      for (const o of outcomes) {
        const v = b[o] ?? 0;
        if (!v) continue;
        const hgt = (v / max) * plotH;
        y -= hgt;
        const start = new Date(d.from + i * d.bucketMs).toLocaleTimeString([], { hour12: false });
        bars.push(
          svg(
            "rect",
            {
              class: `bar o-${o}`,
              x: (PAD.left + i * bw + 0.5).toFixed(1),
              y: y.toFixed(1),
              width: Math.max(1, bw - 1).toFixed(1),
              height: hgt.toFixed(1),
            },
            svg("title", {}, `${start}: ${v} ${o}`),
          ),
        );
      }
    });
    const end = d.from + d.buckets.length * d.bucketMs;
    const label = (t) => new Date(t).toLocaleTimeString([], { hour12: false });
    const chart = svg(
      "svg",
      { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "events per outcome over time" },
      svg("line", {
        class: "axis",
        x1: PAD.left,
        y1: PAD.top + plotH + 0.5,
        x2: W - PAD.right,
        y2: PAD.top + plotH + 0.5,
      }),
      svg("text", { class: "tick", x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, String(max)),
      svg("text", { class: "tick", x: PAD.left - 4, y: PAD.top + plotH, "text-anchor": "end" }, "0"),
      svg("text", { class: "tick", x: PAD.left, y: H - 3 }, label(d.from)),
      svg(
        "text",
        { class: "tick", x: W - PAD.right, y: H - 3, "text-anchor": "end" },
        `${label(end)}${d.truncated ? " (older buckets partial)" : ""}`,
      ),
      bars,
    );
    const legend = h(
      "div",
      { class: "legend" },
      outcomes.map((o) =>
        h(
          "span",
          { class: `legend-item o-${o}`, dataset: { outcome: o } },
          h("span", { class: "swatch" }),
          `${OUTCOMES[o].glyph} ${o} `,
          h("b", { class: "count" }, String(totals[o])),
        ),
      ),
    );
    fill(this.root, chart, legend);
  }
}
