// One module: state, pid, port, version, uptime, restarts; its verbs named with its short
// name (`Restart vault`); the crash card when it crashed; operation and live logs on demand.
import { useState } from "react";
import type { ModuleState, ModuleSummary } from "../api/protocol";
import { useLifecycle, usePackageVerb, type Lifecycle, type PackageVerb } from "../api/queries";
import { duration } from "../lib/format";
import { CrashCard } from "./CrashCard";
import { LogView } from "./LogView";
import { OperationLog } from "./OperationLog";

const VERB_LABEL: Record<Lifecycle | PackageVerb, string> = {
  start: "Start",
  stop: "Stop",
  restart: "Restart",
  install: "Install",
  upgrade: "Upgrade",
  uninstall: "Uninstall",
};

export function ModuleCard({
  module,
  state,
  now,
}: {
  module: ModuleSummary;
  state: ModuleState | undefined;
  now: number;
}) {
  const lifecycle = useLifecycle();
  const pkg = usePackageVerb();
  const [opId, setOpId] = useState<string | null>(null);
  const [showLogs, setShowLogs] = useState(false);
  const short = module.short;
  const status = state?.status ?? module.supervisor_status ?? (module.installed ? "stopped" : null);
  const pid = state?.pid ?? module.pid;
  const started = state?.started_at ?? module.supervisor_started_at;
  const running = status === "running" || status === "starting" || status === "restarting";
  const busy = lifecycle.isPending || pkg.isPending;

  const act = (verb: Lifecycle) => lifecycle.mutate({ short, verb });
  const run = (verb: PackageVerb) => {
    if (verb === "uninstall" && !window.confirm(`Uninstall ${short}? Its data stays on disk.`)) {
      return;
    }
    pkg.mutate({ short, verb }, { onSuccess: (a) => setOpId(a.operation_id) });
  };
  const button = (verb: Lifecycle | PackageVerb, onClick: () => void, secondary = false) => (
    <button
      type="button"
      className={secondary ? "secondary" : undefined}
      onClick={onClick}
      disabled={busy}
      aria-label={`${VERB_LABEL[verb]} ${short}`}
    >
      {VERB_LABEL[verb]}
    </button>
  );
  const failure = lifecycle.error ?? pkg.error;

  return (
    <article className={`card module status-${status ?? "absent"}`} aria-labelledby={`m-${short}`}>
      <header className="card-head">
        <h2 id={`m-${short}`}>{short}</h2>
        <span className={`pill status-${status ?? "absent"}`}>
          {status ?? (module.installed ? "not supervised" : "not installed")}
        </span>
      </header>
      {module.display_name && module.display_name !== short && (
        <p className="muted">
          {module.display_name}
          {module.tagline ? ` — ${module.tagline}` : ""}
        </p>
      )}
      <dl className="facts-grid">
        <div>
          <dt>pid</dt>
          <dd data-testid={`pid-${short}`}>{pid ?? "—"}</dd>
        </div>
        <div>
          <dt>port</dt>
          <dd>{state?.port ?? module.port ?? "—"}</dd>
        </div>
        <div>
          <dt>version</dt>
          <dd>
            {module.installed_version ?? "—"}
            {module.latest_version && module.latest_version !== module.installed_version
              ? ` (→ ${module.latest_version})`
              : ""}
          </dd>
        </div>
        <div>
          <dt>uptime</dt>
          <dd>{running && started ? duration(now - started) : "—"}</dd>
        </div>
        <div>
          <dt>restarts</dt>
          <dd>{state?.total_restarts ?? module.supervisor_restarts ?? 0}</dd>
        </div>
      </dl>
      {status === "crashed" && state && (
        <CrashCard state={state} onRetry={() => act("restart")} retrying={lifecycle.isPending} />
      )}
      <div className="actions">
        {module.installed ? (
          <>
            {running ? button("stop", () => act("stop"), true) : button("start", () => act("start"))}
            {button("restart", () => act("restart"), running ? false : true)}
            {module.available && button("upgrade", () => run("upgrade"), true)}
            {module.available && button("uninstall", () => run("uninstall"), true)}
            <button
              type="button"
              className="secondary"
              aria-expanded={showLogs}
              onClick={() => setShowLogs(!showLogs)}
            >
              {showLogs ? `Hide logs of ${short}` : `Logs of ${short}`}
            </button>
          </>
        ) : (
          module.available && button("install", () => run("install"))
        )}
        {module.management_url && (
          <a className="button-link secondary" href={module.management_url}>
            Open {short}
          </a>
        )}
      </div>
      {failure && (
        <p className="error-text" role="alert">
          {failure.message}
        </p>
      )}
      {opId && <OperationLog id={opId} onClose={() => setOpId(null)} />}
      {showLogs && <LogView short={short} />}
    </article>
  );
}
