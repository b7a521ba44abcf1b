// Server state: one query per hub resource, refreshed by the event stream (see events.ts),
// never by polling. Keys are shared with the event handler through `keys`.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, send } from "./client";
import type {
  Channel,
  ChannelAnswer,
  ExposeAnswer,
  ExposeRequest,
  ExposureSnapshot,
  HubInfo,
  HubOriginAnswer,
  HubOriginSetting,
  HubUpgradeAccepted,
  HubUpgradeStatus,
  ModuleStates,
  ModulesList,
  Operation,
  OperationAccepted,
  RestartAnswer,
  StopAnswer,
} from "./protocol";

/** Query keys, one per resource. */
export const keys = {
  modules: ["modules"] as const,
  states: ["module-states"] as const,
  operation: (id: string) => ["operation", id] as const,
  hub: ["hub"] as const,
  upgrade: ["hub-upgrade"] as const,
  expose: ["expose"] as const,
  hubOrigin: ["hub-origin"] as const,
  discovery: ["discovery"] as const,
};

/** A vault as the discovery document lists it. */
export interface DiscoveredVault {
  name: string;
  url: string;
  version?: string | null;
  managementUrl?: string;
}

/** The parts of `/.well-known/parachute.json` the dashboard shows. */
export interface Discovery {
  vaults?: DiscoveredVault[];
}

export function useModules() {
  return useQuery({ queryKey: keys.modules, queryFn: () => api<ModulesList>("/api/modules") });
}

export function useModuleStates() {
  return useQuery({
    queryKey: keys.states,
    queryFn: () => api<ModuleStates>("/api/modules/states"),
  });
}

export function useOperation(id: string | null) {
  return useQuery({
    queryKey: keys.operation(id ?? ""),
    queryFn: () => api<Operation>(`/api/modules/operations/${encodeURIComponent(id ?? "")}`),
    enabled: id !== null,
  });
}

export function useHubInfo() {
  return useQuery({ queryKey: keys.hub, queryFn: () => api<HubInfo>("/api/hub") });
}

export function useUpgradeStatus() {
  return useQuery({
    queryKey: keys.upgrade,
    queryFn: () => api<HubUpgradeStatus>("/api/hub/upgrade/status"),
  });
}

export function useExposure() {
  return useQuery({ queryKey: keys.expose, queryFn: () => api<ExposureSnapshot>("/api/expose") });
}

export function useHubOrigin() {
  return useQuery({
    queryKey: keys.hubOrigin,
    queryFn: () => api<HubOriginSetting>("/api/settings/hub-origin"),
  });
}

export function useDiscovery() {
  return useQuery({
    queryKey: keys.discovery,
    queryFn: async () => {
      const res = await fetch("/.well-known/parachute.json", {
        headers: { accept: "application/json" },
      });
      if (!res.ok) throw new Error(`the discovery document answered ${res.status}`);
      return (await res.json()) as Discovery;
    },
  });
}

/** The lifecycle verbs of one module. */
export type Lifecycle = "start" | "stop" | "restart";
/** The package verbs, which run as operations with logs. */
export type PackageVerb = "install" | "upgrade" | "uninstall";

export function useLifecycle() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ short, verb }: { short: string; verb: Lifecycle }) =>
      api<RestartAnswer | StopAnswer>(
        `/api/modules/${encodeURIComponent(short)}/${verb}`,
        send("POST"),
      ),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: keys.modules });
      void qc.invalidateQueries({ queryKey: keys.states });
    },
  });
}

export function usePackageVerb() {
  return useMutation({
    mutationFn: ({ short, verb }: { short: string; verb: PackageVerb }) =>
      api<OperationAccepted>(
        `/api/modules/${encodeURIComponent(short)}/${verb}`,
        send("POST", {}),
      ),
  });
}

export function useSetChannel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (channel: Channel) =>
      api<ChannelAnswer>("/api/modules/channel", send("PUT", { channel })),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.modules }),
  });
}

export function useExpose() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (request: ExposeRequest) => api<ExposeAnswer>("/api/expose", send("POST", request)),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.expose }),
  });
}

export function useSetHubOrigin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (origin: string | null) =>
      api<HubOriginAnswer>("/api/settings/hub-origin", send("PUT", { hub_origin: origin })),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.hubOrigin }),
  });
}

export function useStartUpgrade() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<HubUpgradeAccepted>("/api/hub/upgrade", send("POST", {})),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.upgrade }),
  });
}

export function useCheckUpdate() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<unknown>("/api/hub/upgrade/check", send("POST", {})),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.hub }),
  });
}
