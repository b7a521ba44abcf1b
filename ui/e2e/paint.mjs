// Time to first paint of the dashboard in headless chromium, for `scripts/bench dashboard`.
// Env: HUB_URL, SESSION (a session cookie value), RUNS (loads, default 5), CHROMIUM.
// Each load is a fresh page with an empty cache; prints one `paint_ms <first-paint>
// <first-contentful-paint> <modules-visible>` line per load (ms since navigation start).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const hub = process.env.HUB_URL;
const session = process.env.SESSION;
const runs = Number(process.env.RUNS || 5);
if (!hub || !session) {
  console.error("paint: HUB_URL and SESSION are required (run through scripts/bench dashboard)");
  process.exit(2);
}
const bound = setTimeout(() => {
  console.error("paint: not finished within 120 s");
  process.exit(1);
}, 120_000);
const profile = mkdtempSync(join(tmpdir(), "parachute-paint-profile-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
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
  viewport: { width: 1280, height: 800 },
});
context.setDefaultTimeout(20_000);
const url = new URL(hub);
await context.addCookies([
  { name: "parachute_hub_session", value: session, domain: url.hostname, path: "/", httpOnly: true },
]);
try {
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    await page.goto(`${hub}/admin/modules`);
    await page.getByRole("heading", { name: "Modules", level: 1 }).waitFor();
    const t = await page.evaluate(() => {
      const paint = Object.fromEntries(
        performance.getEntriesByType("paint").map((e) => [e.name, e.startTime]),
      );
      return [paint["first-paint"] ?? -1, paint["first-contentful-paint"] ?? -1, performance.now()];
    });
    console.log(`paint_ms ${t.map((v) => v.toFixed(1)).join(" ")}`);
    await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(bound);
}
