// The desktop app's bridge (`window.parachuteDesktop`), present only inside its window.

/** What the desktop app offers the dashboard. */
export interface DesktopBridge {
  getStartAtLogin(): Promise<boolean>;
  setStartAtLogin(enabled: boolean): Promise<void>;
}

declare global {
  interface Window {
    parachuteDesktop?: DesktopBridge;
  }
}

export function desktopBridge(): DesktopBridge | undefined {
  return typeof window === "undefined" ? undefined : window.parachuteDesktop;
}
