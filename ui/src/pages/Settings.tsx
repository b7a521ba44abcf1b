// The Settings page: the canonical hub origin, and start at login inside the desktop app.
import { useEffect, useState, type FormEvent } from "react";
import { useHubOrigin, useSetHubOrigin } from "../api/queries";
import { ErrorState, Loading } from "../components/States";
import { desktopBridge } from "../lib/desktop";

function HubOriginForm() {
  const origin = useHubOrigin();
  const save = useSetHubOrigin();
  const [value, setValue] = useState("");
  useEffect(() => {
    if (origin.data) setValue(origin.data.hub_origin ?? "");
  }, [origin.data]);
  if (origin.isPending) return <Loading what="the hub origin" />;
  if (origin.isError) {
    return <ErrorState what="the hub origin" error={origin.error} onRetry={() => void origin.refetch()} />;
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(value.trim() === "" ? null : value.trim());
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="origin-title">
      <h2 id="origin-title">Hub origin</h2>
      <p className="muted">
        The address tokens are issued for and modules are told. Now:{" "}
        <code>{origin.data.resolved_issuer}</code> (from {origin.data.source}).
      </p>
      <label>
        Canonical origin
        <input
          type="url"
          value={value}
          placeholder="https://hub.example.com (empty: automatic)"
          onChange={(e) => setValue(e.target.value)}
        />
      </label>
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save origin"}
        </button>
      </div>
      {save.isError && (
        <p className="error-text" role="alert">
          {save.error.message}
        </p>
      )}
      {save.isSuccess && <p role="status">Saved. Modules whose origin changed were restarted.</p>}
    </form>
  );
}

function StartAtLogin() {
  const bridge = desktopBridge();
  const [enabled, setEnabled] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!bridge) return;
    bridge.getStartAtLogin().then(setEnabled, (e: unknown) => setError(String(e)));
  }, [bridge]);
  if (!bridge) return null;
  return (
    <section className="card" aria-labelledby="login-title">
      <h2 id="login-title">Desktop app</h2>
      <label className="inline">
        <input
          type="checkbox"
          checked={enabled ?? false}
          disabled={enabled === null}
          onChange={(e) => {
            const next = e.target.checked;
            bridge.setStartAtLogin(next).then(
              () => setEnabled(next),
              (err: unknown) => setError(String(err)),
            );
          }}
        />{" "}
        Start Parachute at login
      </label>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

export function SettingsPage() {
  return (
    <div className="page">
      <h1>Settings</h1>
      <HubOriginForm />
      <StartAtLogin />
    </div>
  );
}
