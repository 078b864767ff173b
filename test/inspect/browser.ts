/** Debian's chromium driven by playwright-core, for the inspector's page tests, screenshots and bench. */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Where scripts/setup.sh installs chromium (`apt-get install chromium`); `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no chromium at ${CHROMIUM_PATH}: run scripts/setup.sh (it installs Debian's chromium) or set CHROMIUM_PATH`,
    );
  }
  // The sandbox needs user namespaces that containers (and root) often lack; the page is our own, on loopback.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}
