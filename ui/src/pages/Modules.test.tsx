import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { mockFetch, renderPage } from "../test/render";
import { list, state, summary } from "../test/fixtures";
import { ModulesPage } from "./Modules";

describe("Modules page", () => {
  it("shows a loading state while the list is on its way", () => {
    mockFetch({ "/api/modules": "pending", "/api/modules/states": "pending" });
    renderPage(<ModulesPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading modules");
  });

  it("says how to install one when none is installed", async () => {
    mockFetch({
      "/api/modules": { json: list([summary("vault", { installed: false, available: true })]) },
      "/api/modules/states": { json: { modules: [] } },
    });
    renderPage(<ModulesPage />);
    expect(await screen.findByText("No modules installed yet")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Install vault" })).toBeInTheDocument();
  });

  it("shows the hub's error with a retry", async () => {
    mockFetch({
      "/api/modules": {
        status: 500,
        json: { error: "internal", error_description: "services.json is malformed" },
      },
      "/api/modules/states": { json: { modules: [] } },
    });
    renderPage(<ModulesPage />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("services.json is malformed");
    expect(within(alert).getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("heads each card with the short name and names its buttons with it", async () => {
    const calls = mockFetch({
      "/api/modules": { json: list([summary("vault"), summary("scribe", { pid: 77 })]) },
      "/api/modules/states": { json: { modules: [state("vault"), state("scribe", { pid: 77 })] } },
      "/api/modules/vault/restart": { json: { short: "vault", state: state("vault"), action: "restarted" } },
    });
    renderPage(<ModulesPage />);
    const card = (await screen.findByRole("heading", { name: "vault" })).closest("article");
    expect(card).not.toBeNull();
    expect(within(card as HTMLElement).getByText("4242")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Restart vault" }));
    expect(calls.some((c) => c.path === "/api/modules/vault/restart" && c.init?.method === "POST")).toBe(true);
    expect(screen.getByRole("button", { name: "Stop scribe" })).toBeInTheDocument();
  });

  it("shows the crash card of a crashed module with retry now", async () => {
    mockFetch({
      "/api/modules": { json: list([summary("vault", { supervisor_status: "crashed", pid: null })]) },
      "/api/modules/states": {
        json: {
          modules: [
            state("vault", {
              status: "crashed",
              pid: null,
              last_exit: { code: 3, signal: null },
              restartsInWindow: 2,
              next_retry_at: Date.now() + 4000,
              last_crash_at: Date.now(),
            }),
          ],
        },
      },
      "/api/modules/vault/logs": { json: { short: "vault", lines: ["[vault] boom\n"], text: "" } },
    });
    renderPage(<ModulesPage />);
    const crash = await screen.findByRole("group", { name: "Crash of vault" });
    expect(crash).toHaveTextContent("exit code 3");
    expect(crash).toHaveTextContent("2 restarts in the window");
    expect(await within(crash).findByText("[vault] boom")).toBeInTheDocument();
    expect(within(crash).getByRole("button", { name: "Retry vault now" })).toBeInTheDocument();
  });
});
