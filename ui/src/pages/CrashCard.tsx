// What a crashed module left behind: how it ended, its last lines, the restarts in the
// window, when the supervisor tries again, and a button to try now.
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { ModuleLogs, ModuleState } from "../api/protocol";
import { exitText } from "../lib/format";

export function CrashCard({
  state,
  onRetry,
  retrying,
}: {
  state: ModuleState;
  onRetry: () => void;
  retrying: boolean;
}) {
  const tail = useQuery({
    queryKey: ["logs-tail", state.short, state.last_crash_at],
    queryFn: () =>
      api<ModuleLogs>(`/api/modules/${encodeURIComponent(state.short)}/logs?lines=8`),
  });
  const next =
    state.next_retry_at !== null
      ? `next retry ${new Date(state.next_retry_at).toLocaleTimeString()}`
      : "no automatic retry (gave up)";
  return (
    <div className="crash" role="group" aria-label={`Crash of ${state.short}`}>
      <p className="crash-title">
        <strong>Crashed</strong> with {exitText(state.last_exit)}
      </p>
      <ul className="facts">
        <li>
          {state.restartsInWindow} restart{state.restartsInWindow === 1 ? "" : "s"} in the window
        </li>
        <li>{next}</li>
        {state.start_error && <li>{state.start_error.error_description}</li>}
      </ul>
      <pre className="log-lines short">
        {tail.isPending
          ? "Loading the last lines…"
          : tail.isError
            ? "Could not read the last lines."
            : tail.data.lines.join("").trimEnd() || "The module wrote nothing."}
      </pre>
      <button type="button" onClick={onRetry} disabled={retrying}>
        {retrying ? `Retrying ${state.short}…` : `Retry ${state.short} now`}
      </button>
    </div>
  );
}
