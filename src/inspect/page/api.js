// The inspector's JSON API and its event stream. With a token (a server bound beyond loopback), every call carries
// `Authorization: Bearer …`; EventSource cannot send headers, so the stream is read with fetch.

const TOKEN_KEY = "fenced-inspect-token";

/** Thrown for a non-2xx answer; `code` is the wire error code (UNAUTHORIZED, INVALID_INPUT, …). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? "UNAVAILABLE";
  }
}

/** A token handed over in the address (`#token=…`, never sent to the server) is kept for this tab only. */
export function adoptTokenFromHash() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, "", `${location.pathname}#/events`);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** GET a JSON endpoint. */
export async function get(path, params, signal) {
  const res = await fetch(url(path, params), { headers: headers(), signal });
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/**
 * Follows the event log from `fromSeq` under `prefix`, calling `onEvent(event)` for each, until `signal` aborts.
 * Reconnects after a drop from the seq after the last one seen, so nothing is missed or repeated.
 * `onStatus("live" | "reconnecting" | "error", detail)` reports the connection's state.
 */
export async function follow({ prefix, fromSeq, signal, onEvent, onStatus }) {
  let next = fromSeq;
  let delay = 250;
  while (!signal.aborted) {
    try {
      const res = await fetch(url("/v1/watch", { prefix, fromSeq: next }), { headers: headers(), signal });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
      onStatus("live");
      delay = 250;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end; (end = buffer.indexOf("\n\n")) >= 0; ) {
          const block = parseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (block.event === "state") {
            const e = JSON.parse(block.data);
            next = e.seq + 1;
            onEvent(e);
          } else if (block.event === "error") {
            onStatus("error", JSON.parse(block.data)?.error?.message);
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && (err.code === "UNAUTHORIZED" || err.code === "FORBIDDEN")) {
        onStatus("error", err.message);
        return;
      }
    }
    if (signal.aborted) return;
    onStatus("reconnecting");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(5000, delay * 2);
  }
}

function parseBlock(text) {
  const out = { event: "message", data: "" };
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "event") out.event = value;
    else if (field === "data") out.data += (out.data ? "\n" : "") + value;
  }
  return out;
}

/**
 * A page of /api/events with at least `params.limit` events when the log has them. The server scans a bounded number
 * of seqs per call, so a sparse filter can answer short with a cursor; this follows the cursor a few times.
 */
export async function getEvents(params, signal, maxCalls = 10) {
  const cursor = params.after !== undefined ? "after" : "before";
  const first = await get("/api/events", params, signal);
  const events = [...first.events];
  let next = first.next;
  for (let calls = 1; events.length < params.limit && next !== null && calls < maxCalls; calls++) {
    const page = await get("/api/events", { ...params, [cursor]: next, limit: params.limit - events.length }, signal);
    events.push(...page.events);
    next = page.next;
  }
  return { events, next, lastSeq: first.lastSeq };
}
