// The event log: the newest page, then live over SSE; older pages on demand; filters by key prefix and outcome;
// counts over time.
import { follow, get, getEvents } from "./api.js";
import { CountsChart } from "./chart.js";
import { fill, h } from "./dom.js";
import { OUTCOMES, outcomeBadge, time } from "./format.js";

const PAGE = 100;
/** Rows kept in the list; beyond it the oldest go and "older" pages bring them back. */
const MAX_ROWS = 5000;
const WINDOWS = [
  ["1 min", 60_000],
  ["10 min", 600_000],
  ["1 h", 3_600_000],
  ["24 h", 86_400_000],
];

export class EventsView {
  /** `nav(hash)` changes the page's route; `setLive(state)` shows the stream's state in the header. */
  constructor(root, { nav, setLive }) {
    this.root = root;
    this.nav = nav;
    this.setLive = setLive;
    this.stop = null;
    this.windowMs = 600_000;
  }

  /** Shows the view for route params `{ prefix, outcome }`. */
  async show(params) {
    this.hide();
    this.prefix = params.get("prefix") ?? "";
    this.outcomes = new Set((params.get("outcome") ?? "").split(",").filter((o) => o in OUTCOMES));
    this.build();
    const stop = (this.stop = new AbortController());
    // One server call, shown at once; a sparse filter may answer short (the server scans a bounded number of events
    // per call), and the rest of the first screen fills in behind it.
    const page = await get(
      "/api/events",
      { prefix: this.prefix, outcome: [...this.outcomes].join(","), limit: PAGE },
      stop.signal,
    );
    if (stop.signal.aborted) return;
    this.list.replaceChildren();
    for (const e of page.events) this.list.append(this.row(e, false));
    this.setOlder(page.next);
    this.updateEmpty();
    this.root.dataset.ready = "true";
    this.fillScreen(stop.signal);
    this.loadCounts(stop.signal);
    follow({
      prefix: this.prefix,
      fromSeq: page.lastSeq + 1,
      signal: stop.signal,
      onEvent: (e) => this.live(e),
      onStatus: (state, detail) => this.setLive(state, detail),
    });
    this.tick = setInterval(() => this.chart.advance(Date.now() + (this.clockSkew ?? 0)), 2000);
  }

  hide() {
    if (this.stop) this.setLive("idle");
    this.stop?.abort();
    this.stop = null;
    clearInterval(this.tick);
    this.observer?.disconnect();
  }

  build() {
    this.older = null; // no older page until the first one has come
    this.prefixInput = h("input", {
      type: "search",
      id: "event-prefix",
      placeholder: "key prefix, e.g. team/",
      value: this.prefix,
      spellcheck: "false",
    });
    this.prefixInput.addEventListener("keydown", (ev) => ev.key === "Enter" && this.apply());
    this.prefixInput.addEventListener("change", () => this.apply());
    const chips = Object.entries(OUTCOMES).map(([o, { glyph }]) =>
      h(
        "button",
        {
          class: `chip o-${o}`,
          type: "button",
          "aria-pressed": String(this.outcomes.has(o)),
          dataset: { outcome: o },
          onclick: () => {
            if (this.outcomes.has(o)) this.outcomes.delete(o);
            else this.outcomes.add(o);
            this.apply();
          },
        },
        `${glyph} ${o}`,
      ),
    );
    const windowSelect = h(
      "select",
      {
        id: "chart-window",
        "aria-label": "chart window",
        onchange: (ev) => ((this.windowMs = Number(ev.target.value)), this.loadCounts(this.stop.signal)),
      },
      WINDOWS.map(([label, ms]) => h("option", { value: ms, selected: ms === this.windowMs }, `last ${label}`)),
    );
    this.chartRoot = h("div", { class: "chart-box", id: "chart" }, h("span", { class: "muted" }, "counting…"));
    this.chart = new CountsChart(this.chartRoot);
    this.list = h("tbody", { id: "events-list" });
    this.empty = h("p", { class: "empty muted", hidden: true }, "No events match.");
    this.olderButton = h(
      "button",
      { type: "button", class: "more", onclick: () => this.loadOlder() },
      "Load older events",
    );
    const sentinel = h("div", { class: "sentinel" });
    fill(
      this.root,
      h(
        "div",
        { class: "toolbar" },
        h("label", { for: "event-prefix" }, "Prefix"),
        this.prefixInput,
        h("span", { class: "chips", role: "group", "aria-label": "outcomes" }, chips),
        this.outcomes.size > 0 || this.prefix
          ? h("button", { type: "button", class: "link", onclick: () => this.nav("#/events") }, "clear filters")
          : null,
      ),
      h(
        "section",
        { class: "panel" },
        h("div", { class: "panel-head" }, h("h2", {}, "Events over time"), windowSelect),
        this.chartRoot,
      ),
      h(
        "section",
        { class: "panel" },
        h(
          "div",
          { class: "panel-head" },
          h("h2", {}, "Event log"),
          h("span", { class: "muted" }, "newest first · live"),
        ),
        h(
          "table",
          { class: "grid events" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["seq", "time", "outcome", "key", "version", "epoch", "owner", "opId"].map((c) => h("th", {}, c)),
            ),
          ),
          this.list,
        ),
        this.empty,
        this.olderButton,
        sentinel,
      ),
    );
    this.observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && this.loadOlder());
    this.observer.observe(sentinel);
  }

  apply() {
    const q = new URLSearchParams();
    const prefix = this.prefixInput.value.trim();
    if (prefix) q.set("prefix", prefix);
    if (this.outcomes.size) q.set("outcome", [...this.outcomes].join(","));
    const s = q.toString();
    this.nav(`#/events${s ? `?${s}` : ""}`);
  }

  async loadCounts(signal) {
    const started = Date.now();
    const counts = await get(
      "/api/events/counts",
      { prefix: this.prefix, windowMs: this.windowMs, buckets: 60 },
      signal,
    ).catch(() => null);
    if (!counts || signal.aborted) return;
    // The store's clock may differ from this browser's: slide the window by the store's time.
    this.clockSkew = counts.from + this.windowMs - (started + Date.now()) / 2;
    this.chart.set(counts);
  }

  /** Follows the cursor until the first screen has a page of rows, or a few calls found nothing more. */
  async fillScreen(signal) {
    for (
      let calls = 0;
      calls < 10 && !signal.aborted && this.older !== null && this.list.childElementCount < PAGE;
      calls++
    ) {
      await this.loadOlder(false);
    }
  }

  async loadOlder(fill = true) {
    if (this.older === null || this.loading || !this.stop) return;
    this.loading = true;
    const signal = this.stop.signal;
    try {
      const params = { prefix: this.prefix, outcome: [...this.outcomes].join(","), limit: PAGE, before: this.older };
      const page = fill ? await getEvents(params, signal) : await get("/api/events", params, signal);
      if (signal.aborted) return;
      for (const e of page.events) this.list.append(this.row(e, false));
      this.setOlder(page.next);
      this.updateEmpty();
    } finally {
      this.loading = false;
    }
  }

  setOlder(next) {
    this.older = next;
    this.olderButton.hidden = next === null;
    this.updateEmpty();
  }

  live(e) {
    this.chart.add(e);
    if (this.outcomes.size > 0 && !this.outcomes.has(e.outcome)) return;
    this.list.prepend(this.row(e, true));
    while (this.list.childElementCount > MAX_ROWS) {
      this.list.lastElementChild.remove();
      this.setOlder(Number(this.list.lastElementChild.dataset.seq));
    }
    this.updateEmpty();
  }

  updateEmpty() {
    this.empty.hidden = this.list.childElementCount > 0;
    this.empty.textContent = this.older === null ? "No events match." : "Searching older events…";
  }

  row(e, fresh) {
    return h(
      "tr",
      {
        class: `ev o-${e.outcome}${fresh ? " fresh" : ""}`,
        dataset: { seq: e.seq, outcome: e.outcome, key: e.key, ts: e.ts, shownAt: Date.now() },
      },
      h("td", { class: "num" }, String(e.seq)),
      h("td", { class: "time" }, time(e.ts)),
      h("td", {}, outcomeBadge(e.outcome)),
      h("td", { class: "key" }, h("a", { href: `#/keys?key=${encodeURIComponent(e.key)}` }, e.key)),
      h("td", { class: "num" }, String(e.version)),
      h("td", { class: "num" }, String(e.epoch)),
      h("td", {}, e.owner ?? ""),
      h("td", { class: "mono small" }, e.opId ?? ""),
    );
  }
}
