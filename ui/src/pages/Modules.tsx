// The Modules page: every module as a card, the install channel, live through events.
import { useEffect, useState } from "react";
import type { Channel } from "../api/protocol";
import { useModuleStates, useModules, useSetChannel } from "../api/queries";
import { Empty, ErrorState, Loading } from "../components/States";
import { ModuleCard } from "./ModuleCard";

/** A clock for uptimes, ticking once a second (display only; no request). */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

export function ModulesPage() {
  const modules = useModules();
  const states = useModuleStates();
  const channel = useSetChannel();
  const now = useNow();

  if (modules.isPending) return <Loading what="modules" />;
  if (modules.isError) {
    return <ErrorState what="modules" error={modules.error} onRetry={() => void modules.refetch()} />;
  }
  const list = modules.data.modules;
  const byShort = new Map((states.data?.modules ?? []).map((s) => [s.short, s]));
  const installed = list.filter((m) => m.installed || byShort.has(m.short));
  const available = list.filter((m) => !m.installed && !byShort.has(m.short) && m.available);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Modules</h1>
        <label className="inline">
          Install channel{" "}
          <select
            value={modules.data.module_install_channel ?? "latest"}
            onChange={(e) => channel.mutate(e.target.value as Channel)}
            disabled={channel.isPending}
          >
            <option value="latest">latest</option>
            <option value="rc">rc</option>
          </select>
        </label>
      </div>
      {channel.isError && (
        <p className="error-text" role="alert">
          Could not change the channel: {channel.error.message}
        </p>
      )}
      {installed.length === 0 ? (
        <Empty title="No modules installed yet">
          <p>Install one below, or run <code>parachute install vault</code>.</p>
        </Empty>
      ) : (
        <div className="cards">
          {installed.map((m) => (
            <ModuleCard key={m.short} module={m} state={byShort.get(m.short)} now={now} />
          ))}
        </div>
      )}
      {available.length > 0 && (
        <>
          <h2 className="section">Available</h2>
          <div className="cards">
            {available.map((m) => (
              <ModuleCard key={m.short} module={m} state={undefined} now={now} />
            ))}
          </div>
        </>
      )}
    </div>
  );
}
