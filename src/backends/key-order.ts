/** Key order shared by every backend: UTF-8 byte order, and the range of keys under a prefix. */

/** Compares keys by UTF-8 bytes, the order SQLite and Postgres (`COLLATE "C"`) use. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * LangGraph's order of a checkpoint's pending writes (writesSortKey): task path, then task id, in UTF-8 byte order, then
 * index. Every backend returns writes in it.
 */
export function compareWrites(
  a: { taskPath: string; taskId: string; idx: number },
  b: { taskPath: string; taskId: string; idx: number },
): number {
  return compareKeys(a.taskPath, b.taskPath) || compareKeys(a.taskId, b.taskId) || a.idx - b.idx;
}

/**
 * The keys that start with `prefix` are exactly those with `prefix <= key < end`, in code-point order, which is UTF-8
 * byte order: SQLite's BINARY collation and PostgreSQL's `COLLATE "C"`. `end` is the successor of the prefix: its
 * last code point plus one (U+D7FF is followed by U+E000, the surrogates being no characters), after dropping
 * trailing U+10FFFF, which has no successor. It is `null` when nothing is left (`""`, or only U+10FFFF): then every
 * key from `prefix` on matches. (`prefix + "\u{10FFFF}"` is no bound: `"p\u{10FFFF}x"` sorts after it; issue 13 item 9.)
 * Keys and prefixes are well-formed UTF-16 (the schemas refuse lone surrogates), so code points are characters.
 */
export function prefixEnd(prefix: string): string | null {
  const chars = [...prefix];
  while (chars.length > 0 && chars[chars.length - 1] === "\u{10FFFF}") chars.pop();
  const last = chars.pop();
  if (last === undefined) return null;
  const next = last.codePointAt(0)! + 1;
  return chars.join("") + String.fromCodePoint(next === 0xd800 ? 0xe000 : next);
}
