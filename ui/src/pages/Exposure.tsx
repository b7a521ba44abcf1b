// The Exposure page: the live layer and URL, each layer on/off with the library's progress
// lines, and who can reach the hub on each layer.
import { useState } from "react";
import { ApiFailure } from "../api/client";
import type { ExposeTarget } from "../api/protocol";
import { useExpose, useExposure } from "../api/queries";
import { ErrorState, Loading } from "../components/States";

const LAYERS: { id: ExposeTarget; title: string; reach: string }[] = [
  {
    id: "tailnet",
    title: "Tailnet",
    reach: "Devices signed in to your Tailscale network, at a *.ts.net address.",
  },
  {
    id: "funnel",
    title: "Public (Tailscale Funnel)",
    reach: "Anyone on the internet with the URL; every module still asks for a sign-in or token.",
  },
  {
    id: "cloudflare",
    title: "Public (Cloudflare tunnel)",
    reach: "Anyone on the internet at your own domain; modules still ask for a sign-in or token.",
  },
];

export function ExposurePage() {
  const exposure = useExposure();
  const expose = useExpose();
  const [domain, setDomain] = useState("");
  if (exposure.isPending) return <Loading what="exposure" />;
  if (exposure.isError) {
    return (
      <ErrorState what="exposure" error={exposure.error} onRetry={() => void exposure.refetch()} />
    );
  }
  const e = exposure.data;
  const failedLines =
    expose.error instanceof ApiFailure && Array.isArray(expose.error.details.lines)
      ? (expose.error.details.lines as string[])
      : undefined;
  const lines = expose.data?.lines ?? failedLines;
  return (
    <div className="page">
      <h1>Exposure</h1>
      <section className="card" aria-label="Current exposure">
        <p>
          {e.layer ? (
            <>
              Exposed on <strong>{e.layer}</strong> at <a href={e.url ?? undefined}>{e.url}</a>
            </>
          ) : (
            <>
              <strong>Loopback only</strong>: only this machine reaches the hub.
            </>
          )}
        </p>
        {e.hub_origin && <p className="muted">Advertised origin: {e.hub_origin}</p>}
        {e.problem && (
          <p className="error-text" role="alert">
            {e.problem}
          </p>
        )}
      </section>
      <div className="cards">
        {LAYERS.map((layer) => {
          const on = e.layer === layer.id;
          return (
            <article key={layer.id} className="card" aria-labelledby={`x-${layer.id}`}>
              <h2 id={`x-${layer.id}`}>{layer.title}</h2>
              <p className="muted">{layer.reach}</p>
              {layer.id === "cloudflare" && !on && (
                <label>
                  Public hostname
                  <input
                    value={domain}
                    onChange={(ev) => setDomain(ev.target.value)}
                    placeholder="hub.example.com"
                  />
                </label>
              )}
              <button
                type="button"
                className={on ? "secondary" : undefined}
                disabled={expose.isPending || (layer.id === "cloudflare" && !on && !domain)}
                onClick={() =>
                  expose.mutate({
                    layer: layer.id,
                    enable: !on,
                    ...(layer.id === "cloudflare" && !on ? { domain } : {}),
                  })
                }
              >
                {on ? `Turn ${layer.title} off` : `Turn ${layer.title} on`}
              </button>
            </article>
          );
        })}
      </div>
      {expose.isPending && <p role="status">Working… (this runs tailscale or cloudflared)</p>}
      {expose.isError && (
        <p className="error-text" role="alert">
          {expose.error.message}
        </p>
      )}
      {lines && lines.length > 0 && (
        <pre className="log-lines short" aria-label="Exposure progress">
          {lines.join("\n")}
        </pre>
      )}
    </div>
  );
}
