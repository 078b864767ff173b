// The page's entry: the header, the tabs, the router (#/events, #/keys, #/threads), and the token prompt.
import { ApiError, adoptTokenFromHash, get, setToken } from "./api.js";
import { fill, h } from "./dom.js";
import { EventsView } from "./events.js";
import { KeysView } from "./keys.js";
import { ThreadsView } from "./threads.js";

adoptTokenFromHash();

const nav = (hash) => {
  if (location.hash === hash) route();
  else location.hash = hash;
};
const live = document.getElementById("live");
const setLive = (state, detail) => {
  live.dataset.state = state;
  live.textContent =
    state === "live"
      ? "● live"
      : state === "reconnecting"
        ? "○ reconnecting…"
        : state === "idle"
          ? "○ stream paused"
          : `✕ ${detail ?? "stream stopped"}`;
};

const roots = {};
for (const name of ["events", "keys", "threads"]) roots[name] = document.getElementById(`view-${name}`);
const views = {
  events: new EventsView(roots.events, { nav, setLive }),
  keys: new KeysView(roots.keys, { nav }),
  threads: new ThreadsView(roots.threads, { nav }),
};

async function refreshSummary() {
  const s = await get("/api/summary");
  document.getElementById("backend").textContent = `${s.backend} · ${s.lastSeq.toLocaleString()} events`;
  for (const tab of document.querySelectorAll("[data-section]"))
    tab.hidden = !s.sections.some((x) => x.id === tab.dataset.section);
  return s;
}

async function route() {
  const [path, query = ""] = (location.hash || "#/events").slice(1).split("?");
  const name = path.replace(/^\//, "") in views ? path.replace(/^\//, "") : "events";
  for (const [n, view] of Object.entries(views)) {
    if (n !== name) view.hide();
    roots[n].hidden = n !== name;
    delete roots[n].dataset.ready;
  }
  for (const tab of document.querySelectorAll("nav a"))
    tab.setAttribute("aria-current", tab.dataset.view === name ? "page" : "false");
  try {
    await views[name].show(new URLSearchParams(query));
  } catch (err) {
    if (err?.name === "AbortError") return;
    if (err instanceof ApiError && (err.code === "UNAUTHORIZED" || err.code === "FORBIDDEN")) askToken(err.message);
    else fill(roots[name], h("p", { class: "error", role: "alert" }, `Could not load: ${err.message}`));
  }
}

function askToken(message) {
  if (document.querySelector("form.token")) return;
  const input = h("input", { type: "password", id: "token", autocomplete: "off", placeholder: "bearer token" });
  const dialog = h(
    "form",
    {
      class: "panel token",
      onsubmit: (ev) => {
        ev.preventDefault();
        setToken(input.value.trim());
        dialog.remove();
        start();
      },
    },
    h("h2", {}, "This inspector needs its token"),
    h(
      "p",
      { class: "muted" },
      `${message}. It is kept in this tab only (sessionStorage). You can also open the page as …/#token=<token>.`,
    ),
    input,
    h("button", { type: "submit" }, "Open"),
  );
  document.querySelector("main").prepend(dialog);
  input.focus();
}

/** The summary (tabs, header) and the first view load side by side: neither waits for the other. */
async function start() {
  await Promise.all([
    refreshSummary().catch((err) => {
      if (err instanceof ApiError && (err.code === "UNAUTHORIZED" || err.code === "FORBIDDEN")) askToken(err.message);
    }),
    route(),
  ]);
}

window.addEventListener("hashchange", route);
setInterval(() => refreshSummary().catch(() => undefined), 10_000);
start();
