// Test helpers: render a page with a fresh query client, and answer `fetch` by path.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router-dom";
import { vi } from "vitest";
import { forgetToken } from "../api/client";

/** An answer: JSON with a status, or "pending" (never answers: the loading state). */
export type Answer = { status?: number; json?: unknown; text?: string } | "pending";

/** Replaces `fetch`: the host-admin token always, then `routes["POST /path"]`, `routes[path?query]`
 * or `routes[path]`. */
/** A JSON response (built by hand: `Response.json` is missing from older Node 18 releases). */
function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

export function mockFetch(routes: Record<string, Answer>) {
  forgetToken();
  const calls: { path: string; init?: RequestInit }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://hub.test");
    calls.push({ path: url.pathname + url.search, init });
    if (url.pathname === "/admin/host-admin-token") {
      return json({ token: "t", expires_at: Math.floor(Date.now() / 1000) + 600 });
    }
    const method = (init?.method ?? "GET").toUpperCase();
    const answer =
      routes[`${method} ${url.pathname}`] ?? routes[url.pathname + url.search] ?? routes[url.pathname];
    if (answer === undefined) return json({ error: "not_found" }, 404);
    if (answer === "pending") return new Promise<Response>(() => {});
    if (answer.text !== undefined) return new Response(answer.text, { status: answer.status ?? 200 });
    return json(answer.json ?? {}, answer.status ?? 200);
  });
  vi.stubGlobal("fetch", fn);
  return calls;
}

export function renderPage(page: ReactElement) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>{page}</MemoryRouter>
    </QueryClientProvider>,
  );
}
