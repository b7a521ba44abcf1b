// Small formatting helpers shared by the pages.

/** `3h 12m`, `45s`: a duration in milliseconds, two units at most. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Signal numbers a crash card names. */
const SIGNALS: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  6: "SIGABRT",
  9: "SIGKILL",
  11: "SIGSEGV",
  15: "SIGTERM",
};

/** `exit code 3` or `signal 9 (SIGKILL)`. */
export function exitText(exit: { code: number | null; signal: number | null } | null): string {
  if (!exit) return "unknown exit";
  if (exit.signal !== null) {
    const name = SIGNALS[exit.signal];
    return name ? `signal ${exit.signal} (${name})` : `signal ${exit.signal}`;
  }
  return `exit code ${exit.code ?? "?"}`;
}
