// The dashboard's shell: navigation, the live-stream indicator and the pages, under /admin.
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { me } from "./api/client";
import { BrowserRouter, NavLink, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useHubEvents } from "./api/events";
import { ExposurePage } from "./pages/Exposure";
import { HubPage } from "./pages/Hub";
import { ModulesPage } from "./pages/Modules";
import { SettingsPage } from "./pages/Settings";
import { SetupPage } from "./pages/Setup";
import { VaultsPage } from "./pages/Vaults";

const PAGES = [
  { path: "modules", title: "Modules" },
  { path: "vaults", title: "Vaults" },
  { path: "exposure", title: "Exposure" },
  { path: "hub", title: "Hub" },
  { path: "settings", title: "Settings" },
];

/** A query client whose failures are shown by the pages (no retry storms on a refusal). */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 30_000 },
      mutations: { retry: false },
    },
  });
}

function Shell() {
  const location = useLocation();
  const setup = location.pathname.startsWith("/setup");
  const live = useHubEvents(!setup);
  const who = useQuery({ queryKey: ["me"], queryFn: me, enabled: !setup });
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href="/admin/modules">
          Parachute
        </a>
        {!setup && (
          <nav aria-label="Dashboard">
            {PAGES.map((p) => (
              <NavLink key={p.path} to={`/${p.path}`}>
                {p.title}
              </NavLink>
            ))}
          </nav>
        )}
        {!setup && (
          <div className="top-end">
            <span className={`pill live-${live}`} title="Live updates from the hub">
              {live === "live" ? "live" : live === "connecting" ? "connecting…" : "reconnecting…"}
            </span>
            {who.data?.user && <span className="muted who">{who.data.user.displayName}</span>}
            <form method="post" action="/logout">
              <input type="hidden" name="__csrf" value={who.data?.csrf ?? ""} />
              <button type="submit" className="secondary small">
                Sign out
              </button>
            </form>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/modules" replace />} />
          <Route path="/modules" element={<ModulesPage />} />
          <Route path="/vaults" element={<VaultsPage />} />
          <Route path="/exposure" element={<ExposurePage />} />
          <Route path="/hub" element={<HubPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="/setup" element={<SetupPage />} />
          <Route path="*" element={<Navigate to="/modules" replace />} />
        </Routes>
      </main>
    </>
  );
}

export function App({ client }: { client: QueryClient }) {
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter basename="/admin" future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <Shell />
      </BrowserRouter>
    </QueryClientProvider>
  );
}
