// LangGraph threads: the list, one thread's checkpoint lineage as a tree (head marked, forks visible, each node's
// step, writes and pending interrupts), the run holding the thread, and the state at a selected checkpoint.
import { get } from "./api.js";
import { fill, h, svg } from "./dom.js";
import { claimCell, jsonBlock, relative, shortId, time } from "./format.js";
import { LaneLayout } from "./lanes.js";

const PAGE = 200;
const LANE_W = 16;
const ROW_H = 30;
const COLORS = 6;

export class ThreadsView {
  constructor(root, { nav }) {
    this.root = root;
    this.nav = nav;
  }

  async show(params) {
    this.hide();
    this.stop = new AbortController();
    const thread = params.get("thread");
    if (thread === null) await this.showList(params);
    else await this.showThread(thread, params.get("ns") ?? "", params.get("cp"));
    if (!this.stop.signal.aborted) this.root.dataset.ready = "true";
  }

  hide() {
    this.stop?.abort();
    this.observer?.disconnect();
  }

  threadHref(threadId, extra = {}) {
    const q = new URLSearchParams({ thread: threadId, ...extra });
    return `#/threads?${q}`;
  }

  async showList() {
    const signal = this.stop.signal;
    const list = h("tbody", { id: "threads-list" });
    const more = h("button", { type: "button", class: "more" }, "Load more threads");
    fill(
      this.root,
      h(
        "section",
        { class: "panel" },
        h("div", { class: "panel-head" }, h("h2", {}, "LangGraph threads")),
        h(
          "table",
          { class: "grid threads" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["thread", "head checkpoint", "head version", "run holding the thread", "updated"].map((c) =>
                h("th", {}, c),
              ),
            ),
          ),
          list,
        ),
        more,
      ),
    );
    let next;
    const load = async () => {
      const page = await get("/api/threads", { after: next, limit: 100 }, signal);
      const now = Date.now();
      for (const t of page.threads) {
        list.append(
          h(
            "tr",
            { dataset: { thread: t.threadId } },
            h("td", { class: "key" }, h("a", { href: this.threadHref(t.threadId) }, t.threadId)),
            h(
              "td",
              { class: "mono" },
              t.head.checkpointId ? shortId(t.head.checkpointId) : h("i", { class: "muted" }, "deleted"),
            ),
            h("td", { class: "num" }, String(t.head.version)),
            h("td", {}, claimCell(t.run, now)),
            h("td", { class: "time" }, relative(t.head.updatedAt, now)),
          ),
        );
      }
      next = page.next;
      more.hidden = next === null;
    };
    more.addEventListener("click", load);
    await load();
  }

  async showThread(threadId, ns, selected) {
    const signal = this.stop.signal;
    const detail = await get("/api/thread", { thread: threadId }, signal);
    if (signal.aborted) return;
    const now = Date.now();
    const nsHead = detail.namespaces.find((n) => n.ns === ns)?.head ?? detail.head;
    this.layout = new LaneLayout();
    this.maxLanes = 1;
    this.stats = { nodes: 0, tips: 0, forks: 0 };
    this.headId = nsHead.checkpointId;
    this.selected = selected;
    this.tree = h("div", { class: "tree", id: "lineage", role: "list" });
    this.tree.style.setProperty("--lanes-w", `${LANE_W}px`); // CSSOM, which the page's CSP allows (inline styles it does not)
    this.statsLine = h("span", { class: "muted", id: "lineage-stats" });
    this.more = h(
      "button",
      { type: "button", class: "more", onclick: () => this.loadPage(threadId, ns) },
      "Load older checkpoints",
    );
    this.state = h(
      "section",
      { class: "panel detail", id: "checkpoint-state" },
      h("p", { class: "muted" }, "Select a checkpoint to see the state at it."),
    );
    const sentinel = h("div", { class: "sentinel" });
    const nsPicker =
      detail.namespaces.length > 1
        ? h(
            "select",
            {
              id: "ns",
              "aria-label": "checkpoint namespace",
              onchange: (ev) => this.nav(this.threadHref(threadId, { ns: ev.target.value })),
            },
            detail.namespaces.map((n) =>
              h("option", { value: n.ns, selected: n.ns === ns }, n.ns === "" ? "(root graph)" : n.ns),
            ),
          )
        : null;
    fill(
      this.root,
      h(
        "div",
        { class: "toolbar" },
        h("a", { href: "#/threads" }, "← threads"),
        h("h2", { class: "mono" }, threadId),
        nsPicker,
      ),
      h(
        "dl",
        { class: "facts wide" },
        h("dt", {}, "run holding the thread"),
        h(
          "dd",
          { id: "thread-run" },
          detail.run?.live
            ? claimCell(detail.run, now)
            : h(
                "span",
                { class: "muted" },
                detail.run ? `none (last: ${detail.run.owner ?? "released"}, epoch ${detail.run.epoch})` : "none",
              ),
        ),
        h("dt", {}, "head"),
        h(
          "dd",
          { class: "mono" },
          nsHead.checkpointId ?? "deleted",
          ` · version ${nsHead.version} · ${relative(nsHead.updatedAt, now)}`,
        ),
      ),
      h(
        "div",
        { class: "split" },
        h(
          "section",
          { class: "panel" },
          h("div", { class: "panel-head" }, h("h2", {}, "Lineage"), this.statsLine),
          this.tree,
          this.more,
          sentinel,
        ),
        this.state,
      ),
    );
    this.observer = new IntersectionObserver(
      (entries) => entries.some((e) => e.isIntersecting) && this.loadPage(threadId, ns),
    );
    await this.loadPage(threadId, ns, true);
    this.observer.observe(sentinel);
    if (selected) this.select(threadId, ns, selected);
  }

  async loadPage(threadId, ns, first = false) {
    if (this.loading || (!first && this.next === null)) return;
    this.loading = true;
    const signal = this.stop.signal;
    try {
      const page = await get(
        "/api/thread/lineage",
        { thread: threadId, ns, after: first ? undefined : this.next, limit: PAGE },
        signal,
      );
      if (signal.aborted) return;
      if (page.headId) this.headId = page.headId;
      for (const node of page.nodes) this.tree.append(this.row(threadId, ns, node));
      this.next = page.next;
      this.more.hidden = page.next === null;
      this.statsLine.textContent =
        `${this.stats.nodes} checkpoints${page.next === null ? "" : " loaded"} · ${this.stats.tips} ${this.stats.tips === 1 ? "branch" : "branches"} · ` +
        `${this.stats.forks} ${this.stats.forks === 1 ? "fork" : "forks"}`;
    } finally {
      this.loading = false;
    }
  }

  row(threadId, ns, node) {
    const place = this.layout.place(node);
    // Every row's graph is as wide as the widest so far, so the labels beside it line up.
    if (place.width > this.maxLanes)
      this.tree.style.setProperty("--lanes-w", `${(this.maxLanes = place.width) * LANE_W}px`);
    this.stats.nodes++;
    if (place.tip) this.stats.tips++;
    if (place.fork) this.stats.forks++;
    const head = node.id === this.headId;
    const x = (i) => i * LANE_W + LANE_W / 2;
    const mid = ROW_H / 2;
    const color = (i) => `lane-${i % COLORS}`;
    const graph = svg(
      "svg",
      { class: "lanes", width: place.width * LANE_W, height: ROW_H, "aria-hidden": "true" },
      place.through.map((i) => svg("line", { class: color(i), x1: x(i), y1: 0, x2: x(i), y2: ROW_H })),
      place.joining.map((i) =>
        svg("path", {
          class: color(i),
          d: `M${x(i)} 0 C${x(i)} ${mid} ${x(place.lane)} 0 ${x(place.lane)} ${mid}`,
          fill: "none",
        }),
      ),
      place.continues
        ? svg("line", { class: color(place.lane), x1: x(place.lane), y1: mid, x2: x(place.lane), y2: ROW_H })
        : null,
      svg("circle", {
        class: `dot ${color(place.lane)}${head ? " head" : ""}`,
        cx: x(place.lane),
        cy: mid,
        r: head ? 6 : 4.5,
      }),
    );
    const interrupts =
      node.interrupts > 0
        ? h(
            "span",
            { class: "tag interrupt", title: "pending interrupts" },
            `⏸ ${node.interrupts} interrupt${node.interrupts > 1 ? "s" : ""}`,
          )
        : null;
    const writes = node.writes.filter((w) => w.channel !== "__interrupt__");
    const classes = [
      "node",
      head && "head",
      place.tip && "tip",
      place.fork && "fork",
      node.id === this.selected && "selected",
    ]
      .filter(Boolean)
      .join(" ");
    return h(
      "div",
      {
        class: classes,
        role: "listitem",
        tabindex: "0",
        dataset: { id: node.id, parent: node.parentId ?? "", lane: place.lane, step: node.step ?? "" },
        // Selecting keeps the loaded tree: the address changes without a new route.
        onclick: (ev) => {
          this.tree.querySelector(".node.selected")?.classList.remove("selected");
          ev.currentTarget.classList.add("selected");
          history.replaceState(null, "", this.threadHref(threadId, { ...(ns && { ns }), cp: node.id }));
          this.select(threadId, ns, node.id);
        },
        onkeydown: (ev) => ev.key === "Enter" && ev.currentTarget.click(),
      },
      graph,
      h("span", { class: "step" }, node.step === null ? "step ?" : `step ${node.step}`),
      head ? h("span", { class: "tag head-tag" }, "HEAD") : null,
      place.fork
        ? h(
            "span",
            { class: "tag fork-tag", title: `${place.joining.length} branches start here` },
            `fork ×${place.joining.length}`,
          )
        : null,
      h("span", { class: "source muted" }, node.source ?? ""),
      h("span", { class: "mono small id", title: node.id }, shortId(node.id)),
      writes.length > 0
        ? h(
            "span",
            { class: "tag writes", title: writes.map((w) => `${w.taskId}: ${w.channel}`).join("\n") },
            `${writes.length} pending write${writes.length > 1 ? "s" : ""}`,
          )
        : null,
      interrupts,
      h("span", { class: "time muted" }, node.ts ? time(Date.parse(node.ts)) : ""),
    );
  }

  async select(threadId, ns, id) {
    fill(this.state, h("p", { class: "muted" }, "loading…"));
    try {
      const s = await get("/api/thread/checkpoint", { thread: threadId, ns, id }, this.stop.signal);
      fill(
        this.state,
        h(
          "div",
          { class: "panel-head" },
          h("h2", {}, "State at ", h("span", { class: "mono" }, shortId(s.id))),
          s.id === this.headId ? h("span", { class: "tag head-tag" }, "HEAD") : null,
        ),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "checkpoint"),
          h("dd", { class: "mono small" }, s.id),
          h("dt", {}, "parent"),
          h("dd", { class: "mono small" }, s.parentId ?? "—"),
        ),
        h("h3", {}, "Channel values"),
        jsonBlock(s.values),
        h("h3", {}, `Pending writes (${s.pendingWrites.length})`),
        s.pendingWrites.length ? jsonBlock(s.pendingWrites) : h("p", { class: "muted" }, "none"),
        h("h3", {}, "Metadata"),
        jsonBlock(s.metadata),
      );
    } catch (err) {
      fill(this.state, h("p", { class: "error" }, err.message));
    }
  }
}
