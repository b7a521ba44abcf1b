// The browser step of an OAuth authorization: opens the authorization URL in Debian's
// chromium (through playwright-core, no browser download), signs in with the form's
// labelled fields, approves on the consent page, and prints the URL the hub redirected the
// browser to (the client's callback, which is intercepted instead of loaded).
//
// usage: node authorize.mjs <authorization-url> <callback-prefix> <username> <password> [screenshot-dir]
// Prints one JSON line: {"callback": "<url>"} (exit 0), or {"error": "..."} (exit 1).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, callbackPrefix, username, password, shots] = process.argv.slice(2);
const STEP_MS = 20_000;

async function main() {
  const profile = mkdtempSync(join(tmpdir(), "parachute-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 375, height: 740 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_MS);
    let callback = null;
    await page.route(
      (u) => u.href.startsWith(callbackPrefix),
      async (route) => {
        callback = route.request().url();
        await route.fulfill({ status: 200, contentType: "text/plain", body: "back at the client" });
      },
    );
    await page.goto(url);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    if (shots) await page.screenshot({ path: join(shots, "oauth-sign-in-375.png"), fullPage: true });
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Approve" }).waitFor();
    if (shots) await page.screenshot({ path: join(shots, "oauth-consent-375.png"), fullPage: true });
    await page.getByRole("button", { name: "Approve" }).click();
    const deadline = Date.now() + STEP_MS;
    while (callback === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (callback === null) throw new Error(`never redirected to ${callbackPrefix}; at ${page.url()}`);
    console.log(JSON.stringify({ callback }));
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String(err && err.stack ? err.stack : err) }));
  process.exit(1);
});
