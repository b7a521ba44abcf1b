//! `parachute init [--expose none|tailnet|cloudflare] [--no-expose-prompt] [--no-browser]`.
//!
//! Gets a box to "hub running under the service manager, operator token in place, dashboard
//! URL printed", and is safe to run again: every step first checks whether it is already done,
//! and a run that changes nothing says so. The hub port is `PORT` when set, else 1939.

use std::sync::Arc;

use parachute_auth::{HubDb, OperatorScopeSet, OperatorToken, mint_operator};
use parachute_expose::{CloudflareTarget, ExposeConfig, Exposure, Line, Target, UpOptions};
use parachute_home::{ExposeState, expose_state};
use parachute_migrate::legacy::{self, RecordState};
use parachute_migrate::procs;
use parachute_migrate::{MigrateEnv, Prompt, is_yes};

use crate::commands::terminal::Terminal;
use parachute_os::{CommandRunner, SystemRunner};
use parachute_unit::{EnsureOutcome, InstallOutcome};

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

/// What the hub step of `init` found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HubStep {
    /// The unit was installed or started.
    Changed,
    /// The hub already ran as it should (under our unit, or where no manager exists).
    AlreadyDone,
    /// A hub runs, but not the way init sets it up (by hand, under a foreign unit, legacy);
    /// what to do was said, and the run must not claim nothing needed doing.
    NeedsAttention,
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
        let mut changed = hub == HubStep::Changed;
        changed |= self.operator_token();
        let exposed = match self.exposure() {
            Ok((exposed, exposure_changed)) => {
                changed |= exposure_changed;
                exposed
            }
            Err(code) => return code,
        };
        let url = match &exposed {
            Some(state) => format!("https://{}/admin/", state.canonical_fqdn),
            None => format!("http://127.0.0.1:{}/admin/", self.env.port()),
        };
        self.next_steps(&url);
        self.offer_browser(&url);
        if !changed && hub == HubStep::AlreadyDone {
            self.io.say("");
            self.io.say(
                "Nothing changed: the hub was already installed and running, and nothing else needed doing.",
            );
        }
        0
    }

    /// Makes sure the hub runs under its unit; `Err(code)` when init must stop.
    fn hub(&mut self) -> Result<HubStep, i32> {
        let env = self.env;
        let port = env.port();
        let records = legacy::all_records(&env.home);
        let running: Vec<_> = records
            .iter()
            .filter(|r| r.state() == RecordState::Running)
            .collect();
        if let Some(hub) = running.iter().find(|r| r.short == "hub") {
            self.io.say(&format!(
                "✓ A legacy hub is already running (pid {}). `parachute migrate --to-supervised` moves it under the service manager.",
                hub.pid
            ));
            return Ok(HubStep::NeedsAttention);
        }
        if env.hub_healthy() {
            let (note, step) = if !env.unit_installed() {
                if env.units.scope().is_some() {
                    (
                        " It is not under the service manager, so it will not come back after a reboot: stop it and run `parachute init` again to install the unit.",
                        HubStep::NeedsAttention,
                    )
                } else {
                    ("", HubStep::AlreadyDone)
                }
            } else if !env.unit_is_current() {
                (
                    " Its unit is not the one this binary writes: `parachute migrate --to-supervised` replaces it.",
                    HubStep::NeedsAttention,
                )
            } else {
                ("", HubStep::AlreadyDone)
            };
            self.io.say(&format!(
                "✓ The hub is already running on port {port}.{note}"
            ));
            return Ok(step);
        }
        if env.units.scope().is_none() {
            self.io
                .say(&format!("✗ {}", EnsureOutcome::NoManager.message()));
            return Err(1);
        }
        if !running.is_empty() {
            let list: Vec<String> = running
                .iter()
                .map(|r| format!("{} (pid {})", r.short, r.pid))
                .collect();
            self.io.say(&format!(
                "✗ Modules of the legacy install are still running: {}. They hold the ports the hub's modules need.",
                list.join(", ")
            ));
            self.io.say(
                "  Run `parachute migrate --to-supervised`: it stops them and installs the hub unit.",
            );
            return Err(1);
        }
        if env.unit_installed() && env.unit_is_current() {
            let outcome = env.units.ensure_hub_up(&env.ensure_config());
            if outcome == EnsureOutcome::Started {
                self.io
                    .say(&format!("✓ Started the hub unit (port {port})."));
                return self.wait_healthy().map(|()| HubStep::Changed);
            }
            self.io.say(&format!(
                "  The installed unit did not bring the hub up ({}); installing it again.",
                outcome.message()
            ));
        }
        let spec = match env.hub_spec() {
            Ok(spec) => spec,
            Err(e) => {
                self.io.say(&format!("✗ {e}"));
                return Err(1);
            }
        };
        let report = env.units.install_and_start(&spec, &env.ensure_config());
        if let InstallOutcome::Installed { warnings, .. } = &report.install {
            self.io
                .say(&format!("✓ {}", report.install.message(&spec.id)));
            for w in warnings {
                self.io.say(&format!("  ⚠ {w}"));
            }
        }
        if !report.outcome.is_up() {
            self.io.say(&format!(
                "✗ The hub did not start: {}",
                report.outcome.message()
            ));
            self.io.say(&format!(
                "  Its output is in {}; `parachute serve` runs it in the foreground to see why.",
                env.hub.log_path().display()
            ));
            return Err(1);
        }
        self.wait_healthy()?;
        self.io.say(&format!("✓ The hub is up on port {port}."));
        Ok(HubStep::Changed)
    }

    /// The port opened; `/health` should follow within the readiness budget.
    fn wait_healthy(&mut self) -> Result<(), i32> {
        let env = self.env;
        if procs::wait(env.timing.ready, env.timing.poll, || env.hub_healthy()) {
            return Ok(());
        }
        self.io.say(&format!(
            "✗ The hub opened port {} but /health did not answer within {}s. Its output is in {}.",
            env.port(),
            env.timing.ready.as_secs(),
            env.hub.log_path().display()
        ));
        Err(1)
    }

    /// Writes `operator.token` once an admin exists. True when a token was written.
    fn operator_token(&mut self) -> bool {
        let home = &self.env.home;
        let path = home.operator_token();
        if let Ok(Some(_)) = OperatorToken::load(&path) {
            self.io.say(&format!(
                "✓ The operator token is already in place ({}).",
                path.display()
            ));
            return false;
        }
        let db = match HubDb::open(&home.hub_db()) {
            Ok(db) => db,
            Err(e) => {
                self.io.say(&format!(
                    "⚠ Could not open {} to mint the operator token: {e}",
                    home.hub_db().display()
                ));
                return false;
            }
        };
        match db.user_count() {
            Ok(0) => {
                self.io.say(
                    "  No admin account yet, so no operator token: create the admin in the setup wizard (or with `parachute auth set-password`), then run `parachute init` again.",
                );
                return false;
            }
            Ok(_) => {}
            Err(e) => {
                self.io
                    .say(&format!("⚠ Could not count the hub's accounts: {e}"));
                return false;
            }
        }
        let issuer = self.issuer(&db);
        match mint_operator(&db, OperatorScopeSet::Admin, &issuer, &path) {
            Ok(_) => {
                self.io.say(&format!(
                    "✓ Wrote the operator token to {} (mode 0600).",
                    path.display()
                ));
                true
            }
            Err(e) => {
                self.io.say(&format!(
                    "⚠ Could not write the operator token: {e}. `parachute auth rotate-operator` tries again."
                ));
                false
            }
        }
    }

    /// The issuer an operator token gets: the one issuer rule (setting, environment,
    /// exposure), else the loopback origin of the port `init` brought the hub up on.
    fn issuer(&self, db: &HubDb) -> String {
        let loopback = format!("http://127.0.0.1:{}", self.env.port());
        let env = parachute_auth::env_origin_from(|var| std::env::var(var).ok())
            .ok()
            .flatten();
        let setting = db
            .setting(parachute_auth::SETTING_HUB_ORIGIN)
            .ok()
            .flatten();
        let exposure = expose_state::read(&self.env.home)
            .ok()
            .flatten()
            .map(|state| parachute_expose::advertised_origin(&state));
        parachute_auth::IssuerLayers {
            setting: setting.as_deref(),
            env: env.as_deref(),
            exposure: exposure.as_deref(),
        }
        .resolve(&loopback)
        .origin
    }

    /// Reports or sets up exposure. Returns the active exposure (if any) and whether anything
    /// changed.
    fn exposure(&mut self) -> Result<(Option<ExposeState>, bool), i32> {
        match expose_state::read(&self.env.home) {
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
        let mut config = ExposeConfig::for_user_home(&self.env.units.env().home_dir);
        config.progress = Some(Arc::new(|line: &Line| println!("{}", line.render())));
        let exposure = Exposure::new(
            self.env.home.clone(),
            self.runner_arc.clone(),
            self.env.units.clone(),
            config,
        );
        match exposure.up(&target, &UpOptions::default()) {
            Ok(_) => Ok((expose_state::read(&self.env.home).ok().flatten(), true)),
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
        let home = &self.env.home;
        let has_vault = parachute_home::services::read_lenient(home)
            .manifest
            .find("parachute-vault")
            .is_some();
        let has_admin = HubDb::open(&home.hub_db())
            .and_then(|db| db.user_count())
            .is_ok_and(|n| n > 0);
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
