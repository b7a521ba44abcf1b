// End-to-end checks of the dashboard in a real browser: Debian's chromium driven by
// playwright-core (no browser download), against a running `parachute serve`. Started by the
// `browser` suite (tests/tests/browser.rs), which owns the hub and its test modules, with:
//   HUB_URL          http://127.0.0.1:<port>
//   BOOTSTRAP_TOKEN  the token the hub printed at start
//   CRASH_FILE       while this file exists the module `beta` crashes at start
//   SHOTS_DIR        where screenshots go (every page at 1280 and 375 px wide)
//   CHROMIUM         the browser (default /usr/bin/chromium)
// Every step has a timeout; the whole run is bounded too. Prints `ok - <step>` per step.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const hub = required("HUB_URL");
const bootstrap = required("BOOTSTRAP_TOKEN");
const crashFile = required("CRASH_FILE");
const shots = required("SHOTS_DIR");
const STEP_MS = 20_000;
const TOTAL_MS = 240_000;
const USER = "owner";
const PASSWORD = "correct horse battery";

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`e2e: ${name} is not set (run through the browser suite)`);
    process.exit(2);
  }
  return v;
}

const overall = setTimeout(() => {
  console.error(`e2e: not finished within ${TOTAL_MS / 1000}s`);
  process.exit(1);
}, TOTAL_MS);

mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "parachute-e2e-profile-"));
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
context.setDefaultTimeout(STEP_MS);
const page = context.pages()[0] ?? (await context.newPage());
let failed = false;

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (err) {
    failed = true;
    console.log(`not ok - ${name}: ${err instanceof Error ? err.message.split("\n")[0] : err}`);
    await page.screenshot({ path: join(shots, `failed-${name.replace(/\W+/g, "-")}.png`), fullPage: true }).catch(() => {});
    throw err;
  }
}

async function shoot(name) {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 800 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

const pidOf = async (short) => (await page.getByTestId(`pid-${short}`).textContent())?.trim();

try {
  await step("a fresh hub sends the browser to setup", async () => {
    await page.goto(`${hub}/admin/`);
    await page.waitForURL(/\/admin\/setup$/);
    await page.getByLabel("Bootstrap token").waitFor();
    await shoot("setup-account");
  });

  await step("first-run setup: account, vault, exposure", async () => {
    await page.getByLabel("Bootstrap token").fill(bootstrap);
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Your first vault" }).waitFor();
    await shoot("setup-vault");
    await page.getByRole("button", { name: "Skip for now" }).click();
    await page.getByRole("heading", { name: "Where should the hub be reachable?" }).waitFor();
    await shoot("setup-expose");
    await page.getByRole("button", { name: "Finish setup" }).click();
    await page.getByRole("heading", { name: "Your hub is ready" }).waitFor();
    await shoot("setup-done");
    await page.getByRole("link", { name: "Open the dashboard" }).click();
  });

  await step("see the modules", async () => {
    await page.waitForURL(/\/admin\/modules$/);
    await page.getByRole("heading", { name: "alpha", exact: true }).waitFor();
    await page.getByRole("heading", { name: "beta", exact: true }).waitFor();
    await page.getByText("live", { exact: true }).waitFor();
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid="pid-alpha"]')?.textContent ?? ""));
    await shoot("modules");
  });

  await step("restart a module and watch its pid change", async () => {
    const before = await pidOf("alpha");
    await page.getByRole("button", { name: "Restart alpha" }).click();
    await page.waitForFunction(
      (old) => {
        const now = document.querySelector('[data-testid="pid-alpha"]')?.textContent ?? "";
        return /^\d+$/.test(now) && now !== old;
      },
      before,
    );
    expect((await pidOf("alpha")) !== before, "the pid did not change");
  });

  await step("crash a module and see the crash card", async () => {
    writeFileSync(crashFile, "crash\n");
    await page.getByRole("button", { name: "Restart beta" }).click();
    const card = page.getByRole("group", { name: "Crash of beta" });
    await card.waitFor({ timeout: 30_000 });
    const text = await card.textContent();
    expect(/exit code \d+|signal \d+/.test(text ?? ""), `no exit shown: ${text}`);
    expect(/restarts? in the window/.test(text ?? ""), `no restart count: ${text}`);
    await shoot("modules-crashed");
    rmSync(crashFile);
    await card.getByRole("button", { name: "Retry beta now" }).click();
    await card.waitFor({ state: "detached", timeout: 30_000 });
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid="pid-beta"]')?.textContent ?? ""));
  });

  await step("follow a module's logs", async () => {
    await page.getByRole("button", { name: "Logs of alpha" }).click();
    const logs = page.getByRole("region", { name: "Logs of alpha" });
    await logs.getByText(/test-module up pid=/).first().waitFor();
    const before = await pidOf("alpha");
    await page.getByRole("button", { name: "Restart alpha" }).click();
    await page.waitForFunction(
      (old) => (document.querySelector('[data-testid="pid-alpha"]')?.textContent ?? old) !== old,
      before,
    );
    const now = await pidOf("alpha");
    await logs.getByText(new RegExp(`test-module up pid=${now}`)).waitFor();
    await logs.getByLabel("Search logs of alpha").fill(`pid=${now}`);
    await logs.getByRole("button", { name: "Pause logs of alpha" }).click();
    await logs.getByRole("button", { name: "Resume logs of alpha" }).waitFor();
    await shoot("modules-logs");
  });

  for (const [path, heading] of [
    ["vaults", "Vaults"],
    ["exposure", "Exposure"],
    ["hub", "Hub"],
    ["settings", "Settings"],
  ]) {
    await step(`the ${path} page`, async () => {
      await page.getByRole("link", { name: heading, exact: true }).click();
      await page.waitForURL(new RegExp(`/admin/${path}$`));
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
      await page.locator(".state-loading").waitFor({ state: "detached" });
      await shoot(path);
    });
  }

  await step("a post without the CSRF token is refused", async () => {
    const status = await page.evaluate(async () => {
      const r = await fetch("/logout", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "",
      });
      return r.status;
    });
    expect(status >= 400 && status < 500, `got ${status}`);
    // Still signed in.
    const me = await page.evaluate(async () => (await fetch("/api/me")).json());
    expect(me.hasSession === true, `signed out by a forged post: ${JSON.stringify(me)}`);
  });

  await step("a foreign Origin is refused", async () => {
    const me = await page.evaluate(async () => (await fetch("/api/me")).json());
    const res = await context.request.post(`${hub}/logout`, {
      headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      data: `__csrf=${encodeURIComponent(me.csrf ?? "")}`,
      maxRedirects: 0,
    });
    expect(res.status() === 403, `got ${res.status()}`);
    const after = await page.evaluate(async () => (await fetch("/api/me")).json());
    expect(after.hasSession === true, "signed out by a foreign post");
  });

  await step("sign out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${hub}/admin/modules`);
    await page.waitForURL(/\/login\?/);
    await shoot("login");
  });

  await step("a wrong password is refused", async () => {
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    expect(page.url().includes("/login"), `left the sign-in page: ${page.url()}`);
    await shoot("login-wrong-password");
  });

  await step("sign in and come back", async () => {
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/admin\/modules$/);
    await page.getByRole("heading", { name: "alpha", exact: true }).waitFor();
  });
} catch {
  // Reported by `step`.
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(overall);
}
process.exit(failed ? 1 : 0);
