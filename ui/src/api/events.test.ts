import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { state } from "../test/fixtures";
import { applyEvent } from "./events";
import { keys } from "./queries";
import { SseParser, type SseFrame } from "./sse";

describe("SSE parser", () => {
  it("splits frames across chunks, skips comments, keeps ids", () => {
    const frames: SseFrame[] = [];
    const p = new SseParser((f) => frames.push(f));
    p.push(": keep-alive\n\nid: 7\nevent: module_state\nda");
    p.push('ta: {"a":1}\r\n\r\nevent: x\ndata: 1\ndata: 2\n\n');
    expect(frames).toEqual([
      { event: "module_state", data: '{"a":1}', id: "7" },
      { event: "x", data: "1\n2", id: "7" },
    ]);
  });
});

describe("events into the cache", () => {
  it("patches a module's state and marks the list stale", () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.states, { modules: [state("vault", { pid: 1 })] });
    qc.setQueryData(keys.modules, { modules: [] });
    applyEvent(qc, { type: "module_state", state: state("vault", { pid: 2 }) });
    expect(qc.getQueryData<{ modules: { pid: number }[] }>(keys.states)?.modules[0].pid).toBe(2);
    expect(qc.getQueryState(keys.modules)?.isInvalidated).toBe(true);
  });
  it("re-reads everything after a lag", () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.hub, {});
    applyEvent(qc, { type: "lagged", missed: 3 });
    expect(qc.getQueryState(keys.hub)?.isInvalidated).toBe(true);
  });
});
