/**
 * Keeps agent tests offline: SDK tracing off (its exporter would POST to api.openai.com), and `fetch` replaced by a
 * recorder that throws, so a test can assert that nothing tried the network.
 */
import { setTracingDisabled } from "@openai/agents";

export function offline(): { fetchAttempts: () => string[]; restore(): void } {
  setTracingDisabled(true);
  const attempts: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: unknown) => {
    attempts.push(String(input instanceof Request ? input.url : input));
    return Promise.reject(new Error("network access in an offline test"));
  }) as typeof fetch;
  return { fetchAttempts: () => [...attempts], restore: () => void (globalThis.fetch = realFetch) };
}
