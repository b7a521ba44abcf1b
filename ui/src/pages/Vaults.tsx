// The Vaults page: the vaults the discovery document lists, with what an MCP client needs.
import { useState } from "react";
import { useDiscovery, type DiscoveredVault } from "../api/queries";
import { Empty, ErrorState, Loading } from "../components/States";

/** The vault's MCP endpoint (`<url>/mcp`). */
export function mcpEndpoint(url: string): string {
  return `${url.replace(/\/+$/, "")}/mcp`;
}

function Copy({ value, label }: { value: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="secondary"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(value).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        });
      }}
    >
      {done ? "Copied" : "Copy"}
    </button>
  );
}

function VaultCard({ vault }: { vault: DiscoveredVault }) {
  const endpoint = mcpEndpoint(vault.url);
  const claude = `claude mcp add --transport http parachute-${vault.name} ${endpoint}`;
  return (
    <article className="card" aria-labelledby={`v-${vault.name}`}>
      <header className="card-head">
        <h2 id={`v-${vault.name}`}>{vault.name}</h2>
        {vault.version && <span className="pill">{vault.version}</span>}
      </header>
      <dl className="facts-list">
        <dt>URL</dt>
        <dd>
          <a href={vault.url}>{vault.url}</a>
        </dd>
        <dt>MCP endpoint</dt>
        <dd className="copy-row">
          <code>{endpoint}</code>
          <Copy value={endpoint} label={`Copy the MCP endpoint of ${vault.name}`} />
        </dd>
        <dt>Claude Code</dt>
        <dd className="copy-row">
          <code>{claude}</code>
          <Copy value={claude} label={`Copy the Claude Code command for ${vault.name}`} />
        </dd>
      </dl>
      <p className="muted">
        MCP clients sign in with OAuth at the hub; a client that only takes a header can use a
        token from <code>parachute auth mint-token --scope vault:{vault.name}:read</code>.
      </p>
      {vault.managementUrl && (
        <a className="button-link secondary" href={vault.managementUrl}>
          Manage {vault.name}
        </a>
      )}
    </article>
  );
}

export function VaultsPage() {
  const d = useDiscovery();
  if (d.isPending) return <Loading what="vaults" />;
  if (d.isError) return <ErrorState what="vaults" error={d.error} onRetry={() => void d.refetch()} />;
  const vaults = d.data.vaults ?? [];
  return (
    <div className="page">
      <h1>Vaults</h1>
      {vaults.length === 0 ? (
        <Empty title="No vaults yet">
          <p>
            Install the vault module on the Modules page, or run <code>parachute install vault</code>.
          </p>
        </Empty>
      ) : (
        <div className="cards">
          {vaults.map((v) => (
            <VaultCard key={v.name} vault={v} />
          ))}
        </div>
      )}
    </div>
  );
}
