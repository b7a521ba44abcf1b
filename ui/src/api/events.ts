// The hub's event stream (`GET /api/events`) feeding TanStack Query: each event invalidates
// (or patches) the queries it makes stale, so pages never poll. Reconnects with backoff;
// after a reconnect or a `lagged` event every query is re-read.
import { useEffect, useState } from "react";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { authedFetch } from "./client";
import { keys } from "./queries";
import type { HubEvent, ModuleState, ModuleStates, Operation } from "./protocol";
import { readSse } from "./sse";

/** Whether the live stream is connected (shown in the header). */
export type LiveState = "connecting" | "live" | "offline";

/** Applies one event to the cache. Exported for the tests. */
export function applyEvent(qc: QueryClient, event: HubEvent): void {
  switch (event.type) {
    case "module_state":
      patchState(qc, event.state);
      void qc.invalidateQueries({ queryKey: keys.modules });
      break;
    case "crash_loop":
    case "services_changed":
    case "channel_changed":
      void qc.invalidateQueries({ queryKey: keys.modules });
      void qc.invalidateQueries({ queryKey: keys.states });
      break;
    case "operation":
      qc.setQueryData<Operation>(keys.operation(event.operation.id), event.operation);
      if (event.operation.status === "succeeded" || event.operation.status === "failed") {
        void qc.invalidateQueries({ queryKey: keys.modules });
      }
      break;
    case "exposure_changed":
      qc.setQueryData(keys.expose, event.exposure);
      void qc.invalidateQueries({ queryKey: keys.discovery });
      break;
    case "hub_origin_changed":
      void qc.invalidateQueries({ queryKey: keys.hubOrigin });
      break;
    case "hub_upgrade":
      void qc.invalidateQueries({ queryKey: keys.upgrade });
      break;
    case "update_checked":
      void qc.invalidateQueries({ queryKey: keys.hub });
      break;
    case "lagged":
    case "listening":
      void qc.invalidateQueries();
      break;
    default:
      break;
  }
}

function patchState(qc: QueryClient, state: ModuleState): void {
  qc.setQueryData<ModuleStates>(keys.states, (old) => {
    if (!old) return old;
    const others = old.modules.filter((m) => m.short !== state.short);
    return { modules: [...others, state] };
  });
}

/** Keeps one stream open while mounted; returns its state. */
export function useHubEvents(enabled = true): LiveState {
  const qc = useQueryClient();
  const [live, setLive] = useState<LiveState>("connecting");
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    let delay = 1000;
    let first = true;
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          const res = await authedFetch("/api/events", {
            headers: { accept: "text/event-stream" },
            signal: abort.signal,
          });
          setLive("live");
          if (!first) void qc.invalidateQueries();
          first = false;
          delay = 1000;
          await readSse(
            res,
            (frame) => {
              try {
                applyEvent(qc, JSON.parse(frame.data) as HubEvent);
              } catch {
                // A frame that is not an event (a future shape): ignore it.
              }
            },
            abort.signal,
          );
        } catch {
          // Refused or dropped: fall through to the backoff.
        }
        if (abort.signal.aborted) return;
        setLive("offline");
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15_000);
      }
    };
    void run();
    return () => abort.abort();
  }, [qc, enabled]);
  return live;
}
