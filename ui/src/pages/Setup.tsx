// First-run setup: account (with the bootstrap token when the hub asks for it) → vault →
// exposure → done, as the original's wizard; every step resumes where the hub says it is.
import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { setupState, setupStep } from "../api/setup";
import { ErrorState, Loading } from "../components/States";

const STEPS = ["account", "vault", "expose", "done"] as const;

function Progress({ step }: { step: string }) {
  const at = step === "welcome" ? 0 : STEPS.indexOf(step as (typeof STEPS)[number]);
  return (
    <ol className="steps" aria-label="Setup steps">
      {STEPS.map((s, i) => (
        <li key={s} aria-current={i === at ? "step" : undefined} className={i < at ? "done" : undefined}>
          {s}
        </li>
      ))}
    </ol>
  );
}

function useStepSubmit(refresh: () => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (run: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await run();
      refresh();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, submit };
}

function AccountStep({ csrf, needToken, refresh }: { csrf: string; needToken: boolean; refresh: () => void }) {
  const [username, setUsername] = useState("owner");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [token, setToken] = useState("");
  const { error, busy, submit } = useStepSubmit(refresh);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (password !== confirm) return;
    void submit(() =>
      setupStep("account", csrf, {
        username,
        password,
        password_confirm: confirm,
        ...(needToken ? { bootstrap_token: token } : {}),
      }),
    );
  };
  return (
    <form className="card" onSubmit={onSubmit} aria-labelledby="acc-title">
      <h2 id="acc-title">Create the admin account</h2>
      <p className="muted">This account owns the hub. Pick a password of at least 8 characters.</p>
      {needToken && (
        <label>
          Bootstrap token
          <input
            required
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="parachute-bootstrap-…"
          />
          <span className="hint">Printed by the hub when it started (its terminal or log).</span>
        </label>
      )}
      <label>
        Username
        <input required autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input
          required
          type="password"
          autoComplete="new-password"
          minLength={8}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <label>
        Confirm password
        <input
          required
          type="password"
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          aria-invalid={confirm !== "" && confirm !== password}
        />
      </label>
      {confirm !== "" && confirm !== password && <p className="error-text">The passwords differ.</p>}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create account"}
      </button>
    </form>
  );
}

function VaultStep({ csrf, refresh }: { csrf: string; refresh: () => void }) {
  const [name, setName] = useState("default");
  const { error, busy, submit } = useStepSubmit(refresh);
  return (
    <form
      className="card"
      aria-labelledby="vault-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(() => setupStep("vault", csrf, { mode: "create", vault_name: name }));
      }}
    >
      <h2 id="vault-title">Your first vault</h2>
      <p className="muted">A vault keeps notes your AI tools can read and write over MCP.</p>
      <label>
        Vault name
        <input required value={name} onChange={(e) => setName(e.target.value)} pattern="[a-z0-9][a-z0-9-]*" />
      </label>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create vault"}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={() => void submit(() => setupStep("vault", csrf, { mode: "skip" }))}
        >
          Skip for now
        </button>
      </div>
    </form>
  );
}

const MODES = [
  { id: "localhost", title: "Just this machine", hint: "Nothing outside this computer reaches the hub." },
  { id: "tailnet", title: "My tailnet", hint: "Your devices on Tailscale reach it (set up on the Exposure page)." },
  { id: "public", title: "The internet", hint: "A public URL through Funnel or Cloudflare (Exposure page)." },
];

function ExposeStep({ csrf, refresh }: { csrf: string; refresh: () => void }) {
  const [mode, setMode] = useState("localhost");
  const { error, busy, submit } = useStepSubmit(refresh);
  return (
    <form
      className="card"
      aria-labelledby="expose-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(() => setupStep("expose", csrf, { expose_mode: mode }));
      }}
    >
      <h2 id="expose-title">Where should the hub be reachable?</h2>
      <fieldset>
        <legend className="visually-hidden">Reachable from</legend>
        {MODES.map((m) => (
          <label key={m.id} className="radio">
            <input type="radio" name="expose_mode" value={m.id} checked={mode === m.id} onChange={() => setMode(m.id)} />
            <span>
              <strong>{m.title}</strong>
              <span className="hint">{m.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : "Finish setup"}
      </button>
    </form>
  );
}

export function SetupPage() {
  const qc = useQueryClient();
  const state = useQuery({ queryKey: ["setup"], queryFn: setupState });
  const refresh = () => void qc.invalidateQueries({ queryKey: ["setup"] });
  if (state.isPending) return <Loading what="setup" />;
  if (state.isError) return <ErrorState what="setup" error={state.error} onRetry={refresh} />;
  const s = state.data;
  return (
    <div className="page setup">
      <h1>Set up your hub</h1>
      <Progress step={s.step} />
      {(s.step === "welcome" || s.step === "account") && (
        <AccountStep csrf={s.csrfToken} needToken={s.requireBootstrapToken} refresh={refresh} />
      )}
      {s.step === "vault" && <VaultStep csrf={s.csrfToken} refresh={refresh} />}
      {s.step === "expose" && <ExposeStep csrf={s.csrfToken} refresh={refresh} />}
      {s.step === "done" && (
        <section className="card" aria-labelledby="done-title">
          <h2 id="done-title">Your hub is ready</h2>
          <p>Modules, vaults and exposure are on the dashboard.</p>
          <a className="button-link" href="/admin/modules">
            Open the dashboard
          </a>
        </section>
      )}
    </div>
  );
}
