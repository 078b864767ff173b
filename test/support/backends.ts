/**
 * The backends every shared suite runs against. One conformance suite, one list: a new backend joins by adding an
 * entry here, never by copying a test file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type OpenStoreOptions, type StateStore } from "../../src/index.js";

export interface BackendFixture {
  name: string;
  /** Opens a fresh, empty store. Extra options (limits, clock) pass through. */
  open(options?: Omit<OpenStoreOptions, "path" | "memory" | "url" | "backend">): Promise<StateStore>;
  /** Removes what `open` created. */
  cleanup(): Promise<void>;
}

function sqliteFixture(): BackendFixture {
  const dirs: string[] = [];
  return {
    name: "sqlite",
    async open(options = {}) {
      const dir = mkdtempSync(join(tmpdir(), "fenced-test-"));
      dirs.push(dir);
      return openStore({ ...options, path: join(dir, "state.db") });
    },
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

function memoryFixture(): BackendFixture {
  return { name: "memory", open: (options = {}) => openStore({ ...options, memory: true }), cleanup: async () => {} };
}

/** Fresh fixtures for every backend. */
export function backendFixtures(): BackendFixture[] {
  return [memoryFixture(), sqliteFixture()];
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "fenced-test-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
