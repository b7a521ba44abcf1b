// The desktop bridge: injected by Parachute Desktop into its settings window. Only the
// dashboard's pages (http://127.0.0.1:<port>/admin/...) get `window.parachuteDesktop`; the
// contract is documented in ARCHITECTURE.md ("The desktop bridge").
window.__parachuteDesktopSetup = function (port, note, askLoginItem, bootstrapToken) {
  var onDashboard =
    location.protocol === "http:" &&
    location.hostname === "127.0.0.1" &&
    location.port === String(port) &&
    (location.pathname === "/admin" || location.pathname.indexOf("/admin/") === 0);
  var internals = window.__TAURI_INTERNALS__;
  if (onDashboard && internals && !window.parachuteDesktop) {
    var invoke = function (cmd, args) {
      return internals.invoke(cmd, args || {});
    };
    window.parachuteDesktop = Object.freeze({
      version: 1,
      // First-run setup's bootstrap token while no admin exists (null afterwards).
      bootstrapToken: bootstrapToken || null,
      info: function () { return invoke("info"); },
      expose: function (layer, hostname) {
        return invoke("expose", { request: { layer: layer, hostname: hostname || null } });
      },
      module: function (short, op) { return invoke("module", { short: short, op: op }); },
      startAtLogin: function (enabled) { return invoke("start_at_login", { enabled: !!enabled }); },
      checkForUpdates: function () { return invoke("check_for_updates"); },
      upgrade: function () { return invoke("upgrade"); },
    });
    // The tray's "Cloudflare…" asks for the hostname here; a dashboard that handles the event
    // calls preventDefault() and asks in its own way.
    window.addEventListener("parachute-desktop:ask-cloudflare-hostname", function (e) {
      setTimeout(function () {
        if (e.defaultPrevented) return;
        var host = window.prompt("Public hostname for the Cloudflare tunnel (e.g. hub.example.com):");
        if (host) window.parachuteDesktop.expose("cloudflare", host).catch(function (err) {
          window.alert(err && err.message ? err.message : String(err));
        });
      }, 0);
    });
    window.dispatchEvent(new Event("parachute-desktop-ready"));
    // The setup page asks for the bootstrap token the terminal would show; fill it in.
    if (bootstrapToken) {
      var fill = function () {
        var input = document.querySelector('input[placeholder^="parachute-bootstrap"]');
        if (!input || input.value) return;
        var setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
        setter.call(input, bootstrapToken);
        input.dispatchEvent(new Event("input", { bubbles: true }));
      };
      new MutationObserver(fill).observe(document.documentElement, { childList: true, subtree: true });
    }
  }
  // Banners stack in one bar above the page (in the flow, so nothing is hidden under it).
  var bar = null;
  var banner = function (text, buttons) {
    if (!bar) {
      bar = document.createElement("div");
      bar.setAttribute("data-parachute-desktop-banner", "");
      bar.style.cssText =
        "position:relative;z-index:2147483647;background:#1f6feb;color:#fff;" +
        "font:14px/1.4 system-ui,sans-serif";
      document.body.prepend(bar);
    }
    var row = document.createElement("div");
    row.style.cssText = "display:flex;gap:12px;align-items:center;padding:8px 16px;border-bottom:1px solid #fff3";
    var span = document.createElement("span");
    span.style.flex = "1";
    span.textContent = text;
    row.appendChild(span);
    (buttons && buttons.length ? buttons : [["Dismiss", function () {}]]).forEach(function (b) {
      var btn = document.createElement("button");
      btn.textContent = b[0];
      btn.onclick = function () {
        b[1]();
        row.remove();
        if (!bar.firstChild) { bar.remove(); bar = null; }
      };
      row.appendChild(btn);
    });
    bar.appendChild(row);
  };
  var show = function () {
    if (note) banner(note);
    if (askLoginItem && window.parachuteDesktop) {
      banner("Start Parachute when you log in?", [
        ["Yes", function () { window.parachuteDesktop.startAtLogin(true); }],
        ["No", function () { window.parachuteDesktop.startAtLogin(false); }],
      ]);
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show);
  else show();
};
