// Keys under a prefix: version, value preview, claim holder, epoch and expiry; one key's value, claim and history.
import { get, getEvents } from "./api.js";
import { fill, h } from "./dom.js";
import { claimCell, jsonBlock, outcomeBadge, relative, time } from "./format.js";

const PAGE = 100;

export class KeysView {
  constructor(root, { nav }) {
    this.root = root;
    this.nav = nav;
  }

  async show(params) {
    this.hide();
    this.stop = new AbortController();
    const signal = this.stop.signal;
    this.prefix = params.get("prefix") ?? "";
    this.key = params.get("key");
    if (this.key !== null && !params.has("prefix"))
      this.prefix = this.key.includes("/") ? this.key.slice(0, this.key.lastIndexOf("/") + 1) : "";
    this.build();
    const [page] = await Promise.all([
      get("/api/keys", { prefix: this.prefix, limit: PAGE }, signal),
      this.key !== null ? this.showKey(this.key, signal) : null,
    ]);
    if (signal.aborted) return;
    this.now = Date.now();
    fill(
      this.list,
      page.keys.map((k) => this.row(k)),
    );
    this.setNext(page.next);
    this.empty.hidden = page.keys.length > 0;
    this.root.dataset.ready = "true";
  }

  hide() {
    this.stop?.abort();
  }

  build() {
    const input = h("input", {
      type: "search",
      id: "key-prefix",
      placeholder: "key prefix, e.g. team/",
      value: this.prefix,
      spellcheck: "false",
    });
    const go = () => this.nav(`#/keys?prefix=${encodeURIComponent(input.value.trim())}`);
    input.addEventListener("keydown", (ev) => ev.key === "Enter" && go());
    const crumbs = [h("a", { href: "#/keys?prefix=" }, "(all)")];
    let acc = "";
    for (const seg of this.prefix.split("/").filter(Boolean)) {
      acc += `${seg}/`;
      crumbs.push(" / ", h("a", { href: `#/keys?prefix=${encodeURIComponent(acc)}` }, seg));
    }
    this.list = h("tbody", { id: "keys-list" });
    this.empty = h("p", { class: "empty muted", hidden: true }, "No keys under this prefix.");
    this.more = h("button", { type: "button", class: "more", onclick: () => this.loadMore() }, "Load more keys");
    this.detail = h("section", { class: "panel detail", id: "key-detail", hidden: this.key === null });
    fill(
      this.root,
      h(
        "div",
        { class: "toolbar" },
        h("label", { for: "key-prefix" }, "Prefix"),
        input,
        h("button", { type: "button", onclick: go }, "List"),
        h("span", { class: "crumbs" }, crumbs),
      ),
      h(
        "div",
        { class: "split" },
        h(
          "section",
          { class: "panel" },
          h("div", { class: "panel-head" }, h("h2", {}, "Keys")),
          h(
            "div",
            { class: "scroll-x" },
            h(
              "table",
              { class: "grid keys" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ["key", "version", "epoch", "claim", "updated", "value"].map((c) => h("th", {}, c)),
                ),
              ),
              this.list,
            ),
          ),
          this.empty,
          this.more,
        ),
        this.detail,
      ),
    );
  }

  async loadMore() {
    if (this.next === null) return;
    const page = await get("/api/keys", { prefix: this.prefix, after: this.next, limit: PAGE }, this.stop.signal);
    for (const k of page.keys) this.list.append(this.row(k));
    this.setNext(page.next);
  }

  setNext(next) {
    this.next = next;
    this.more.hidden = next === null;
  }

  row(k) {
    const href = `#/keys?prefix=${encodeURIComponent(this.prefix)}&key=${encodeURIComponent(k.key)}`;
    return h(
      "tr",
      { class: `${k.exists ? "" : "deleted"}${k.key === this.key ? " selected" : ""}`, dataset: { key: k.key } },
      h("td", { class: "key" }, h("a", { href }, k.key)),
      h("td", { class: "num" }, String(k.version)),
      h("td", { class: "num" }, String(k.epoch)),
      h("td", {}, claimCell(k.claim, this.now)),
      h("td", { class: "time", title: new Date(k.updatedAt).toISOString() }, relative(k.updatedAt, this.now)),
      h("td", { class: "preview mono" }, k.exists ? k.preview : h("i", { class: "muted" }, "deleted")),
    );
  }

  async showKey(key, signal) {
    this.detail.hidden = false;
    fill(this.detail, h("p", { class: "muted" }, "loading…"));
    const [record, history] = await Promise.all([
      get("/api/key", { key }, signal).catch((err) => ({ error: err })),
      getEvents({ key, limit: PAGE }, signal),
    ]);
    if (signal.aborted) return;
    const now = Date.now();
    this.historyList = h("tbody", { id: "key-history" });
    this.historyMore = h(
      "button",
      { type: "button", class: "more", onclick: () => this.moreHistory(key) },
      "Older history",
    );
    this.historyNext = null;
    fill(
      this.detail,
      h(
        "div",
        { class: "panel-head" },
        h("h2", { class: "mono" }, key),
        h("a", { class: "link", href: `#/keys?prefix=${encodeURIComponent(this.prefix)}` }, "close"),
      ),
      record.error
        ? h("p", { class: "muted" }, record.error.message)
        : h(
            "dl",
            { class: "facts" },
            h("dt", {}, "version"),
            h("dd", {}, String(record.version)),
            h("dt", {}, "epoch"),
            h("dd", {}, String(record.epoch)),
            h("dt", {}, "claim"),
            h("dd", {}, claimCell(record.claim, now)),
            h("dt", {}, "updated"),
            h("dd", {}, record.updatedAt ? `${time(record.updatedAt)} (${relative(record.updatedAt, now)})` : "—"),
            h("dt", {}, "size"),
            h("dd", {}, `${record.bytes} bytes`),
          ),
      record.error
        ? null
        : record.exists
          ? jsonBlock(record.value)
          : h("p", { class: "muted" }, "deleted (a tombstone keeps its version)"),
      h("h3", {}, "History"),
      h(
        "table",
        { class: "grid history" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["seq", "time", "outcome", "version", "epoch", "owner"].map((c) => h("th", {}, c)),
          ),
        ),
        this.historyList,
      ),
      this.historyMore,
    );
    this.addHistory(history);
  }

  async moreHistory(key) {
    if (this.historyNext === null) return;
    this.addHistory(await getEvents({ key, limit: PAGE, before: this.historyNext }, this.stop.signal));
  }

  addHistory(page) {
    for (const e of page.events) {
      this.historyList.append(
        h(
          "tr",
          { class: `ev o-${e.outcome}`, dataset: { seq: e.seq, outcome: e.outcome } },
          h("td", { class: "num" }, String(e.seq)),
          h("td", { class: "time" }, time(e.ts)),
          h("td", {}, outcomeBadge(e.outcome)),
          h("td", { class: "num" }, String(e.version)),
          h("td", { class: "num" }, String(e.epoch)),
          h("td", {}, e.owner ?? ""),
        ),
      );
    }
    this.historyNext = page.next;
    this.historyMore.hidden = page.next === null;
  }
}
