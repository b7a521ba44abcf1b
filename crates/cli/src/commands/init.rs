//! `parachute init [--expose none|tailnet|cloudflare] [--no-expose-prompt] [--no-browser]`.
//!
//! Gets a box to "hub running under the service manager, operator token in place, dashboard
//! URL printed", and is safe to run again: every step first checks whether it is already done,
//! and a run that changes nothing says so. The hub port is `PORT` when set, else 1939.

use std::sync::Arc;

use parachute_control::init::{
    self, HubAttention, HubProgress, HubStep, InitError, Readiness, TokenStep,
};
use parachute_expose::{CloudflareTarget, Line, Target};
use parachute_home::ExposeState;
use parachute_migrate::{MigrateEnv, Prompt, is_yes};

use crate::commands::terminal::Terminal;
use parachute_os::{CommandRunner, SystemRunner};

use crate::args::{InitArgs, InitExpose};

/// Runs `init`; returns the exit code.
pub fn run(args: &InitArgs) -> i32 {
    let runner: Arc<dyn CommandRunner> = Arc::new(SystemRunner::from_env());
    let env = match MigrateEnv::from_process(runner.clone()) {
        Ok(env) => env,
        Err(e) => {
            eprintln!("parachute init: {e}");
            return 1;
        }
    };
    let mut io = Terminal;
    Init {
        env: &env,
        runner_arc: runner.clone(),
        runner: runner.as_ref(),
        args,
        io: &mut io,
    }
    .run()
}

/// One run of `init`.
struct Init<'a> {
    /// The machine: home, manager, hub unit, port.
    env: &'a MigrateEnv,
    /// Runs the exposure tools (`tailscale`, `cloudflared`).
    runner_arc: Arc<dyn CommandRunner>,
    /// Runs the browser opener.
    runner: &'a dyn CommandRunner,
    /// The flags.
    args: &'a InitArgs,
    /// Output and questions.
    io: &'a mut dyn Prompt,
}

impl Init<'_> {
    fn run(mut self) -> i32 {
        self.io.say("Parachute init: setting up your hub.");
        let hub = match self.hub() {
            Ok(step) => step,
            Err(code) => return code,
        };
        let mut changed = hub.changed();
        changed |= self.operator_token();
        let exposed = match self.exposure() {
            Ok((exposed, exposure_changed)) => {
                changed |= exposure_changed;
                exposed
            }
            Err(code) => return code,
        };
        let url = init::dashboard_url(self.env.port(), exposed.as_ref());
        self.next_steps(&url);
        self.offer_browser(&url);
        if !changed && !hub.needs_attention() {
            self.io.say("");
            self.io.say(
                "Nothing changed: the hub was already installed and running, and nothing else needed doing.",
            );
        }
        0
    }

    /// Makes sure the hub runs under its unit; `Err(code)` when init must stop.
    fn hub(&mut self) -> Result<HubStep, i32> {
        let io = &mut *self.io;
        let step = init::ensure_hub(self.env, &mut |progress| match progress {
            HubProgress::ReinstallingUnit { reason } => io.say(&format!(
                "  The installed unit did not bring the hub up ({reason}); installing it again."
            )),
        });
        match step {
            Ok(step) => {
                self.say_hub_step(&step);
                Ok(step)
            }
            Err(e) => {
                self.say_init_error(&e);
                Err(1)
            }
        }
    }

    fn say_hub_step(&mut self, step: &HubStep) {
        match step {
            HubStep::LegacyHubRunning { pid } => self.io.say(&format!(
                "✓ A legacy hub is already running (pid {pid}). `parachute migrate --to-supervised` moves it under the service manager."
            )),
            HubStep::AlreadyRunning { port, attention } => {
                let note = match attention {
                    Some(HubAttention::NotUnderManager) => {
                        " It is not under the service manager, so it will not come back after a reboot: stop it and run `parachute init` again to install the unit."
                    }
                    Some(HubAttention::ForeignUnit) => {
                        " Its unit is not the one this binary writes: `parachute migrate --to-supervised` replaces it."
                    }
                    None => "",
                };
                self.io
                    .say(&format!("✓ The hub is already running on port {port}.{note}"));
            }
            HubStep::StartedUnit { port } => self
                .io
                .say(&format!("✓ Started the hub unit (port {port}).")),
            HubStep::Installed {
                port,
                unit_message,
                warnings,
            } => {
                if let Some(message) = unit_message {
                    self.io.say(&format!("✓ {message}"));
                    for w in warnings {
                        self.io.say(&format!("  ⚠ {w}"));
                    }
                }
                self.io.say(&format!("✓ The hub is up on port {port}."));
            }
        }
    }

    fn say_init_error(&mut self, error: &InitError) {
        match error {
            InitError::LegacyModulesRunning(running) => {
                let list: Vec<String> = running
                    .iter()
                    .map(|(short, pid)| format!("{short} (pid {pid})"))
                    .collect();
                self.io.say(&format!(
                    "✗ Modules of the legacy install are still running: {}. They hold the ports the hub's modules need.",
                    list.join(", ")
                ));
                self.io.say(
                    "  Run `parachute migrate --to-supervised`: it stops them and installs the hub unit.",
                );
            }
            InitError::HubDidNotStart { reason, log } => {
                self.io.say(&format!("✗ The hub did not start: {reason}"));
                self.io.say(&format!(
                    "  Its output is in {}; `parachute serve` runs it in the foreground to see why.",
                    log.display()
                ));
            }
            InitError::NotHealthy { port, secs, log } => self.io.say(&format!(
                "✗ The hub opened port {port} but /health did not answer within {secs}s. Its output is in {}.",
                log.display()
            )),
            other => self.io.say(&format!("✗ {other}")),
        }
    }

    /// Writes `operator.token` once an admin exists. True when a token was written.
    fn operator_token(&mut self) -> bool {
        let step = init::ensure_operator_token(self.env);
        let line = match &step {
            TokenStep::AlreadyInPlace(path) => format!(
                "✓ The operator token is already in place ({}).",
                path.display()
            ),
            TokenStep::NoAdminYet => "  No admin account yet, so no operator token: create the admin in the setup wizard (or with `parachute auth set-password`), then run `parachute init` again.".to_string(),
            TokenStep::Written(path) => format!(
                "✓ Wrote the operator token to {} (mode 0600).",
                path.display()
            ),
            TokenStep::DbUnavailable { path, error } => format!(
                "⚠ Could not open {} to mint the operator token: {error}",
                path.display()
            ),
            TokenStep::CountFailed(e) => format!("⚠ Could not count the hub's accounts: {e}"),
            TokenStep::MintFailed(e) => format!(
                "⚠ Could not write the operator token: {e}. `parachute auth rotate-operator` tries again."
            ),
        };
        self.io.say(&line);
        step.changed()
    }

    /// Reports or sets up exposure. Returns the active exposure (if any) and whether anything
    /// changed.
    fn exposure(&mut self) -> Result<(Option<ExposeState>, bool), i32> {
        match init::current_exposure(&self.env.home) {
            Ok(Some(state)) => {
                self.io.say(&format!(
                    "✓ The hub is already exposed at https://{}.",
                    state.canonical_fqdn
                ));
                return Ok((Some(state), false));
            }
            Ok(None) => {}
            Err(e) => self.io.say(&format!("⚠ {e}")),
        }
        let choice = match self.args.expose {
            Some(choice) => Some(choice),
            None if self.args.no_expose_prompt || !self.io.is_interactive() => None,
            None => self.ask_exposure(),
        };
        let target = match choice {
            None => {
                self.io.say(
                    "  Exposure skipped. Later: `parachute expose tailnet`, or `parachute expose cloudflare --domain <host>`.",
                );
                return Ok((None, false));
            }
            Some(InitExpose::None) => {
                self.io.say(
                    "✓ The hub stays reachable from this machine only (127.0.0.1). Later: `parachute expose tailnet` or `parachute expose cloudflare --domain <host>`.",
                );
                return Ok((None, false));
            }
            Some(InitExpose::Tailnet) => Target::Tailnet,
            Some(InitExpose::Cloudflare) => {
                let host = if self.io.is_interactive() {
                    self.io
                        .ask("Public hostname for the Cloudflare tunnel (e.g. hub.example.com): ")
                } else {
                    String::new()
                };
                if host.trim().is_empty() {
                    self.io.say(
                        "✗ A Cloudflare tunnel needs a public hostname, and there is no terminal to ask for one. Run `parachute expose cloudflare --domain <host>`.",
                    );
                    return Err(1);
                }
                match CloudflareTarget::new(&host, None) {
                    Ok(cf) => Target::Cloudflare(cf),
                    Err(e) => {
                        self.io.say(&format!("✗ {e}"));
                        return Err(1);
                    }
                }
            }
        };
        self.io.say("");
        self.io
            .say(&format!("Setting up exposure: {}…", target.label()));
        let progress = Arc::new(|line: &Line| println!("{}", line.render()));
        match init::expose(self.env, self.runner_arc.clone(), &target, progress) {
            Ok(state) => Ok((state, true)),
            Err(e) => {
                self.io.say(&format!("✗ {e}"));
                Err(1)
            }
        }
    }

    /// The exposure menu (terminal only): up to five tries, `q` skips.
    fn ask_exposure(&mut self) -> Option<InitExpose> {
        let default = if server_like() { 3 } else { 1 };
        self.io.say("");
        self.io.say("Where should the hub be reachable?");
        self.io.say("  1) only on this machine");
        self.io.say("  2) on your tailnet (Tailscale)");
        self.io
            .say("  3) on the internet, through a Cloudflare tunnel");
        for _ in 0..5 {
            let answer = self
                .io
                .ask(&format!("Choose 1, 2 or 3 (Enter = {default}, q = skip): "));
            let pick = match answer.trim() {
                "" => default,
                "q" | "Q" => return None,
                other => match other.parse::<u8>() {
                    Ok(n @ 1..=3) => n,
                    _ => {
                        self.io.say("  Please answer 1, 2, 3 or q.");
                        continue;
                    }
                },
            };
            return Some(match pick {
                2 => InitExpose::Tailnet,
                3 => InitExpose::Cloudflare,
                _ => InitExpose::None,
            });
        }
        None
    }

    /// The dashboard URL and what is left to do.
    fn next_steps(&mut self, url: &str) {
        let Readiness {
            has_admin,
            has_vault,
        } = init::readiness(&self.env.home);
        self.io.say("");
        self.io.say(&format!("Dashboard: {url}"));
        if has_admin && has_vault {
            self.io
                .say("Looks good: the hub is up and a vault is configured.");
        } else {
            let missing = match (has_admin, has_vault) {
                (false, false) => "create the admin account and a vault",
                (false, true) => "create the admin account",
                _ => "set up a vault",
            };
            self.io
                .say(&format!("Next: open the dashboard to {missing}."));
        }
    }

    /// Offers to open the dashboard when a person at a graphical session can see it.
    fn offer_browser(&mut self, url: &str) {
        if self.args.no_browser || !self.io.is_interactive() {
            return;
        }
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else if has_display() {
            "xdg-open"
        } else {
            return;
        };
        if self.runner.which(opener).is_none() {
            return;
        }
        let answer = self.io.ask("Open it in your browser now? [Y/n] ");
        if (answer.trim().is_empty() || is_yes(&answer))
            && let Err(e) = self.runner.spawn_detached(opener, &[url], None)
        {
            self.io.say(&format!(
                "⚠ Could not open the browser ({e}); the URL is above."
            ));
        }
    }
}

/// A graphical session on Linux (`DISPLAY` or `WAYLAND_DISPLAY`).
fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// A headless Linux server (over SSH, or with no display, and not WSL): exposure defaults to a
/// Cloudflare tunnel there, to "this machine only" elsewhere.
fn server_like() -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let wsl = std::fs::read_to_string("/proc/version")
        .is_ok_and(|v| v.to_ascii_lowercase().contains("microsoft"));
    let ssh = ["SSH_CONNECTION", "SSH_TTY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some());
    !wsl && (ssh || !has_display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parachute_home::Home;
    use parachute_migrate::{Scripted, Timing};
    use parachute_unit::{HubUnitConfig, ManagedUnit, ManagerKind, UnitEnv};

    fn env(dir: &std::path::Path) -> MigrateEnv {
        let unit_env = UnitEnv {
            uid: 1000,
            user_name: "tester".into(),
            home_dir: dir.into(),
            unit_dir_override: Some(dir.join("units")),
            scope_override: None,
            manager_override: Some(ManagerKind::None),
        };
        let runner = Arc::new(SystemRunner::with_search_path(dir.join("no-tools")));
        MigrateEnv {
            home: Home::at(dir.join("home")),
            units: ManagedUnit::new(runner, ManagerKind::None, unit_env),
            hub: HubUnitConfig {
                exe: "/bin/true".into(),
                parachute_home: dir.join("home"),
                port: 1,
                user_home: dir.into(),
            },
            timing: Timing::default(),
        }
    }

    fn menu(answers: &[&str]) -> (Option<InitExpose>, Scripted) {
        let dir = tempfile::tempdir().unwrap();
        let env = env(dir.path());
        let runner: Arc<dyn CommandRunner> =
            Arc::new(SystemRunner::with_search_path("/nonexistent"));
        let args = InitArgs {
            expose: None,
            no_expose_prompt: false,
            no_browser: true,
        };
        let mut io = Scripted::answering(answers);
        let choice = Init {
            env: &env,
            runner_arc: runner.clone(),
            runner: runner.as_ref(),
            args: &args,
            io: &mut io,
        }
        .ask_exposure();
        (choice, io)
    }

    #[test]
    fn the_exposure_menu_retries_skips_and_gives_up() {
        let (choice, io) = menu(&["7", "2"]);
        assert_eq!(choice, Some(InitExpose::Tailnet));
        assert_eq!(io.questions.len(), 2);
        assert!(io.text().contains("Please answer 1, 2, 3 or q."));
        assert_eq!(menu(&["3"]).0, Some(InitExpose::Cloudflare));
        assert_eq!(menu(&["1"]).0, Some(InitExpose::None));
        assert_eq!(menu(&["q"]).0, None);
        let (choice, io) = menu(&["x", "x", "x", "x", "x", "2"]);
        assert_eq!(choice, None, "five wrong answers skip");
        assert_eq!(io.questions.len(), 5);
        let (choice, _) = menu(&[""]);
        let default = if server_like() {
            InitExpose::Cloudflare
        } else {
            InitExpose::None
        };
        assert_eq!(choice, Some(default));
    }
}
