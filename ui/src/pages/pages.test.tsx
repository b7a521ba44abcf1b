// Loading, empty and error states of the Vaults, Exposure, Hub, Settings and Setup pages.
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { mockFetch, renderPage } from "../test/render";
import { ExposurePage } from "./Exposure";
import { HubPage } from "./Hub";
import { SettingsPage } from "./Settings";
import { SetupPage } from "./Setup";
import { VaultsPage } from "./Vaults";

const setupState = (over: Record<string, unknown> = {}) => ({
  step: "welcome",
  hasAdmin: false,
  hasVault: false,
  hasExposeMode: false,
  requireBootstrapToken: true,
  csrfToken: "csrf-1",
  ...over,
});

describe("Vaults page", () => {
  it("loads, then shows the MCP endpoint of each vault", async () => {
    mockFetch({
      "/.well-known/parachute.json": {
        json: { vaults: [{ name: "default", url: "http://127.0.0.1:1939/vault/default", version: "0.4.0" }] },
      },
    });
    renderPage(<VaultsPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading vaults");
    expect(await screen.findByText("http://127.0.0.1:1939/vault/default/mcp")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Copy the MCP endpoint of default" })).toBeInTheDocument();
  });
  it("says how to get a vault when there is none", async () => {
    mockFetch({ "/.well-known/parachute.json": { json: { vaults: [] } } });
    renderPage(<VaultsPage />);
    expect(await screen.findByText("No vaults yet")).toBeInTheDocument();
  });
  it("shows a failed discovery document", async () => {
    mockFetch({ "/.well-known/parachute.json": { status: 502, json: {} } });
    renderPage(<VaultsPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("502");
  });
});

describe("Exposure page", () => {
  it("shows loopback only, and the progress lines of a change", async () => {
    const calls = mockFetch({
      "/api/expose": { json: { layer: null, url: null, hub_origin: null, tunnels: [] } },
      "POST /api/expose": {
        status: 502,
        json: { error: "tool_failed", error_description: "tailscale is not running", lines: ["→ tailscale serve"] },
      },
    });
    renderPage(<ExposurePage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading exposure");
    expect(await screen.findByText("Loopback only")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Turn Tailnet on" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("tailscale is not running");
    expect(screen.getByLabelText("Exposure progress")).toHaveTextContent("→ tailscale serve");
    const post = calls.find((c) => c.init?.method === "POST");
    expect(JSON.parse(String(post?.init?.body))).toEqual({ layer: "tailnet", enable: true });
  });
  it("shows a refusal", async () => {
    mockFetch({ "/api/expose": { status: 403, json: { error: "insufficient_scope", error_description: "needs admin" } } });
    renderPage(<ExposurePage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("needs admin");
  });
});

describe("Hub page", () => {
  it("shows version, uptime and the upgrade card", async () => {
    mockFetch({
      "/api/hub": {
        json: {
          version: "0.6.3",
          started_at: null,
          uptime_ms: 3_725_000,
          source: "binary",
          executable: null,
          pid: 1,
          port: 1939,
          parachute_home: "/home/x/.parachute",
          modules: 2,
          update: null,
        },
      },
      "/api/hub/upgrade/status": { status: 404, json: { error: "no_upgrade" } },
    });
    renderPage(<HubPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading the hub");
    expect(await screen.findByText("0.6.3")).toBeInTheDocument();
    expect(screen.getByText("1h 2m")).toBeInTheDocument();
    expect(await screen.findByText("No upgrade has run on this hub.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Upgrade the hub" })).toBeDisabled();
  });
  it("shows the error of /api/hub", async () => {
    mockFetch({ "/api/hub": { status: 500, json: { error: "x", error_description: "broken" } } });
    renderPage(<HubPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("broken");
  });
});

describe("Settings page", () => {
  afterEach(() => {
    delete window.parachuteDesktop;
  });
  it("shows the origin, and start at login only inside the desktop app", async () => {
    mockFetch({
      "/api/settings/hub-origin": {
        json: { hub_origin: null, resolved_issuer: "http://127.0.0.1:1939", source: "request" },
      },
    });
    renderPage(<SettingsPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading the hub origin");
    expect(await screen.findByText("http://127.0.0.1:1939")).toBeInTheDocument();
    expect(screen.queryByText("Start Parachute at login")).not.toBeInTheDocument();
  });
  it("offers start at login through the desktop bridge", async () => {
    let enabled = false;
    window.parachuteDesktop = {
      getStartAtLogin: async () => enabled,
      setStartAtLogin: async (v) => {
        enabled = v;
      },
    };
    mockFetch({ "/api/settings/hub-origin": { status: 500, json: { error_description: "db locked" } } });
    renderPage(<SettingsPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("db locked");
    const box = await screen.findByRole("checkbox", { name: "Start Parachute at login" });
    await userEvent.click(box);
    expect(enabled).toBe(true);
  });
});

describe("Setup page", () => {
  it("asks for the bootstrap token and posts the account step with the CSRF token", async () => {
    const calls = mockFetch({
      "/admin/setup": { json: setupState() },
      "/admin/setup/account": { json: { step: "vault", message: "admin created" } },
    });
    renderPage(<SetupPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading setup");
    await userEvent.type(await screen.findByLabelText(/Bootstrap token/), "parachute-bootstrap-x");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse battery");
    await userEvent.type(screen.getByLabelText("Confirm password"), "correct horse battery");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    const post = calls.find((c) => c.path === "/admin/setup/account");
    expect(JSON.parse(String(post?.init?.body))).toMatchObject({
      __csrf: "csrf-1",
      username: "owner",
      bootstrap_token: "parachute-bootstrap-x",
    });
  });
  it("shows the hub's refusal of a step", async () => {
    mockFetch({
      "/admin/setup": { json: setupState({ step: "expose", hasAdmin: true, hasVault: true }) },
      "/admin/setup/expose": { status: 401, json: { error: "No admin session", message: "Sign in to continue setup." } },
    });
    renderPage(<SetupPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Finish setup" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Sign in to continue setup.");
  });
  it("shows an unreachable hub", async () => {
    mockFetch({ "/admin/setup": { status: 503, json: { message: "hub is stopping" } } });
    renderPage(<SetupPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("hub is stopping");
  });
});
