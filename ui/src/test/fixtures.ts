// Wire-shaped sample answers (typed by the generated protocol, so they stay honest).
import type { ModuleState, ModuleSummary, ModulesList } from "../api/protocol";

export function summary(short: string, over: Partial<ModuleSummary> = {}): ModuleSummary {
  return {
    short,
    name: short,
    package: null,
    display_name: short,
    tagline: "",
    available: false,
    installed: true,
    installed_version: "1.0.0",
    latest_version: null,
    port: 1940,
    supervisor_status: "running",
    pid: 4242,
    supervisor_started_at: Date.now() - 65_000,
    supervisor_ready: true,
    supervisor_restarts: 0,
    supervisor_start_error: null,
    install_dir: null,
    uis: [],
    management_url: null,
    ...over,
  };
}

export function list(modules: ModuleSummary[]): ModulesList {
  return { modules, supervisor_available: true, module_install_channel: "latest" };
}

export function state(short: string, over: Partial<ModuleState> = {}): ModuleState {
  return {
    short,
    status: "running",
    pid: 4242,
    port: 1940,
    ready: true,
    started_at: Date.now() - 65_000,
    startedAt: null,
    consecutive_crashes: 0,
    restartsInWindow: 0,
    total_restarts: 0,
    last_crash_at: null,
    lastCrashAt: null,
    last_exit: null,
    lastExitCode: null,
    next_retry_at: null,
    start_error: null,
    startError: null,
    ...over,
  };
}
