// The Hub page: version, uptime, source, and the upgrade card over /api/hub/upgrade*.
import { useCheckUpdate, useHubInfo, useStartUpgrade, useUpgradeStatus } from "../api/queries";
import { ErrorState, Loading } from "../components/States";
import { duration } from "../lib/format";

function UpgradeCard({ current }: { current: string }) {
  const status = useUpgradeStatus();
  const start = useStartUpgrade();
  const check = useCheckUpdate();
  const hub = useHubInfo();
  const update = hub.data?.update;
  const s = status.data;
  const inFlight = s && !["succeeded", "failed", "rolled-back", "redeploy-required"].includes(s.phase);
  return (
    <section className="card" aria-labelledby="upgrade-title">
      <h2 id="upgrade-title">Upgrade</h2>
      {update?.checked_at ? (
        <p>
          {update.available
            ? `Version ${update.version} is available on ${update.channel} (you run ${current}).`
            : `Up to date: ${current} on ${update.channel}.`}
          {update.error ? ` The last check failed: ${update.error}` : ""}
        </p>
      ) : (
        <p className="muted">No update check yet.</p>
      )}
      {status.isError ? (
        <p className="muted">No upgrade has run on this hub.</p>
      ) : (
        s && (
          <p>
            Last upgrade to {s.target_version ?? "?"}: <strong>{s.phase}</strong>
            {s.error ? ` — ${s.error}` : ""}
          </p>
        )
      )}
      <div className="actions">
        <button type="button" className="secondary" onClick={() => check.mutate()} disabled={check.isPending}>
          {check.isPending ? "Checking…" : "Check for updates"}
        </button>
        <button
          type="button"
          onClick={() => start.mutate()}
          disabled={start.isPending || Boolean(inFlight) || !update?.available}
        >
          {inFlight ? "Upgrading…" : "Upgrade the hub"}
        </button>
      </div>
      {(start.error ?? check.error) && (
        <p className="error-text" role="alert">
          {(start.error ?? check.error)?.message}
        </p>
      )}
    </section>
  );
}

export function HubPage() {
  const hub = useHubInfo();
  if (hub.isPending) return <Loading what="the hub" />;
  if (hub.isError) return <ErrorState what="the hub" error={hub.error} onRetry={() => void hub.refetch()} />;
  const h = hub.data;
  return (
    <div className="page">
      <h1>Hub</h1>
      <section className="card" aria-label="This hub">
        <dl className="facts-list">
          <dt>Version</dt>
          <dd>{h.version}</dd>
          <dt>Uptime</dt>
          <dd>{duration(h.uptime_ms)}</dd>
          <dt>Source</dt>
          <dd>{h.source}</dd>
          <dt>Port</dt>
          <dd>{h.port ?? "—"}</dd>
          <dt>Home</dt>
          <dd>
            <code>{h.parachute_home ?? "—"}</code>
          </dd>
          <dt>Modules</dt>
          <dd>{h.modules}</dd>
        </dl>
      </section>
      <UpgradeCard current={h.version} />
    </div>
  );
}
