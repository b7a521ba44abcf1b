// The desktop app's bridge (`window.parachuteDesktop`, see src-tauri/src/bridge.js and
// ARCHITECTURE.md "The desktop bridge"), present only inside its settings window. It may be
// injected after the page loaded: it then fires `parachute-desktop-ready`.
import { useEffect, useState } from "react";

/** What the bridge's `info()` answers (the parts the dashboard reads). */
export interface DesktopInfo {
  desktop: boolean;
  version: string;
  start_at_login: boolean;
}

/** The bridge methods the dashboard uses. */
export interface DesktopBridge {
  version: number;
  info(): Promise<DesktopInfo>;
  startAtLogin(enabled: boolean): Promise<unknown>;
}

declare global {
  interface Window {
    parachuteDesktop?: DesktopBridge;
  }
}

/** The bridge, if this page runs inside the desktop app (re-read when it announces itself). */
export function useDesktopBridge(): DesktopBridge | undefined {
  const [bridge, setBridge] = useState(() =>
    typeof window === "undefined" ? undefined : window.parachuteDesktop,
  );
  useEffect(() => {
    const ready = () => setBridge(window.parachuteDesktop);
    window.addEventListener("parachute-desktop-ready", ready);
    return () => window.removeEventListener("parachute-desktop-ready", ready);
  }, []);
  return bridge;
}
