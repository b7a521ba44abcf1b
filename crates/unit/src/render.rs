//! Unit file text: a systemd `.service` and a launchd plist for one [`UnitSpec`].

use crate::GENERATED_HEADER;
use crate::env::{ManagerKind, UnitEnv, UnitScope};
use crate::spec::UnitSpec;

/// Renders the systemd unit for `spec` in the scope `env` selects.
///
/// A system unit (uid 0, or forced) gets `User=<user>` when the spec asks for it and
/// `WantedBy=multi-user.target`; a user unit gets `WantedBy=default.target`. The crash ceiling
/// goes in `[Unit]`, where systemd reads `StartLimit*` (in `[Service]` modern systemd ignores
/// them). Output goes to the spec's log file (`append:`), so every platform logs to one file.
pub fn render_systemd(spec: &UnitSpec, env: &UnitEnv) -> String {
    let system = env.scope(ManagerKind::Systemd) == Some(UnitScope::SystemdSystem);
    let mut out = String::new();
    out.push_str(&format!("# {GENERATED_HEADER}\n"));
    out.push_str("[Unit]\n");
    out.push_str(&format!("Description={}\n", specifiers(&spec.description)));
    out.push_str("After=network-online.target\n");
    out.push_str("Wants=network-online.target\n");
    if let Some(ceiling) = spec.crash_ceiling {
        out.push_str(&format!("StartLimitIntervalSec={}\n", ceiling.interval_sec));
        out.push_str(&format!("StartLimitBurst={}\n", ceiling.burst));
    }
    out.push_str("\n[Service]\n");
    out.push_str("Type=simple\n");
    if system && spec.run_as_invoking_user && !env.user_name.is_empty() {
        out.push_str(&format!("User={}\n", env.user_name));
    }
    for (key, value) in &spec.env {
        out.push_str(&format!(
            "Environment={}\n",
            quote_word(&specifiers(&format!("{key}={value}")))
        ));
    }
    let argv: Vec<String> = spec
        .exec_start
        .iter()
        .map(|a| quote_word(&specifiers(a).replace('$', "$$")))
        .collect();
    out.push_str(&format!("ExecStart={}\n", argv.join(" ")));
    out.push_str("Restart=always\n");
    out.push_str("RestartSec=5\n");
    let log = specifiers(&spec.log_path.display().to_string());
    out.push_str(&format!("StandardOutput=append:{log}\n"));
    out.push_str(&format!("StandardError=append:{log}\n"));
    out.push_str("\n[Install]\n");
    out.push_str(if system {
        "WantedBy=multi-user.target\n"
    } else {
        "WantedBy=default.target\n"
    });
    out
}

/// Escapes systemd specifiers: a literal `%` is written `%%`.
fn specifiers(s: &str) -> String {
    s.replace('%', "%%")
}

/// Quotes one systemd word when it needs it (whitespace, quotes, backslashes or empty).
fn quote_word(s: &str) -> String {
    let plain = !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            other => q.push(other),
        }
    }
    q.push('"');
    q
}

/// Escapes `&`, `<` and `>` for a plist `<string>`/`<key>` element.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the launchd LaunchAgent plist for `spec`.
///
/// `RunAtLoad` starts it when loaded (and at every login), `KeepAlive` restarts it whenever it
/// exits, `ThrottleInterval` spaces respawns when the spec has a crash ceiling, and stdout and
/// stderr both append to the spec's log file. `env` is unused today (a LaunchAgent always runs
/// as the user who loaded it) but kept so both renderers take the same inputs.
pub fn render_launchd(spec: &UnitSpec, env: &UnitEnv) -> String {
    let _ = env;
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n");
    // `--` may not appear inside an XML comment.
    out.push_str(&format!(
        "<!-- {} -->\n",
        GENERATED_HEADER.replace("--", "- -")
    ));
    out.push_str("<plist version=\"1.0\">\n<dict>\n");
    out.push_str(&format!(
        "  <key>Label</key>\n  <string>{}</string>\n",
        xml(&spec.id.label)
    ));
    out.push_str("  <key>ProgramArguments</key>\n  <array>\n");
    for arg in &spec.exec_start {
        out.push_str(&format!("    <string>{}</string>\n", xml(arg)));
    }
    out.push_str("  </array>\n");
    if !spec.env.is_empty() {
        out.push_str("  <key>EnvironmentVariables</key>\n  <dict>\n");
        for (key, value) in &spec.env {
            out.push_str(&format!(
                "    <key>{}</key>\n    <string>{}</string>\n",
                xml(key),
                xml(value)
            ));
        }
        out.push_str("  </dict>\n");
    }
    out.push_str("  <key>RunAtLoad</key>\n  <true/>\n");
    out.push_str("  <key>KeepAlive</key>\n  <true/>\n");
    if let Some(ceiling) = spec.crash_ceiling {
        out.push_str(&format!(
            "  <key>ThrottleInterval</key>\n  <integer>{}</integer>\n",
            ceiling.throttle_sec
        ));
    }
    let log = xml(&spec.log_path.display().to_string());
    out.push_str(&format!(
        "  <key>StandardOutPath</key>\n  <string>{log}</string>\n"
    ));
    out.push_str(&format!(
        "  <key>StandardErrorPath</key>\n  <string>{log}</string>\n"
    ));
    out.push_str("</dict>\n</plist>\n");
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
