//! Fake `systemctl` for the black-box suites (see TOOL-FORMATS.md §3).
//!
//! Verbs: `[--user] daemon-reload | enable [--now] | disable [--now] | start | stop | restart |
//! is-active | is-enabled | show -p A,B [--value]`, answering on the same streams with the same
//! exit codes as systemd ≥ 253. Unit files are read from `$PARACHUTE_UNIT_DIR` when set, else
//! the real locations. `start`, `restart` and `enable --now` really run the unit's `ExecStart`
//! in the background (own session, `Environment=` lines, output appended to the
//! `StandardOutput=append:` file or to the unit's journal); `stop` and `disable --now` SIGTERM
//! it — this fake stands in for the manager, so it may signal.
//!
//! State: `<state>/systemd/<user|system>/enabled/<unit>`, `…/jobs/<unit>/` (see
//! `fake_service`), `…/<unit>.journal` (read by the fake `journalctl`).
//! Failure injection: each line `<verb> <exit> <stderr text>` of `<state>/systemctl.fail`
//! makes that verb fail (`*` matches every verb).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

mod fake_service;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_service::{Ended, Job};

/// The parsed parts of a unit file the fake needs.
#[derive(Default)]
struct UnitFile {
    description: String,
    exec_start: Vec<String>,
    env: Vec<(String, String)>,
    stdout: Option<PathBuf>,
    stderr: Option<PathBuf>,
    wanted_by: String,
}

fn parse_unit(text: &str) -> UnitFile {
    let mut unit = UnitFile {
        wanted_by: "default.target".into(),
        ..Default::default()
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.starts_with('[') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Description" => unit.description = value.replace("%%", "%"),
            "ExecStart" => unit.exec_start = fake_service::split_words(value, true),
            "Environment" => {
                for word in fake_service::split_words(value, false) {
                    if let Some((k, v)) = word.split_once('=') {
                        unit.env.push((k.to_string(), v.to_string()));
                    }
                }
            }
            "StandardOutput" => {
                unit.stdout = value
                    .strip_prefix("append:")
                    .map(|p| PathBuf::from(p.replace("%%", "%")))
            }
            "StandardError" => {
                unit.stderr = value
                    .strip_prefix("append:")
                    .map(|p| PathBuf::from(p.replace("%%", "%")))
            }
            "WantedBy" => unit.wanted_by = value.to_string(),
            _ => {}
        }
    }
    unit
}

struct Ctx {
    scope_dir: PathBuf,
    unit_dir: PathBuf,
}

impl Ctx {
    fn unit_path(&self, unit: &str) -> PathBuf {
        self.unit_dir.join(unit)
    }
    fn job_dir(&self, unit: &str) -> PathBuf {
        self.scope_dir.join("jobs").join(unit)
    }
    fn enabled_marker(&self, unit: &str) -> PathBuf {
        self.scope_dir.join("enabled").join(unit)
    }
    fn journal(&self, unit: &str) -> PathBuf {
        self.scope_dir.join(format!("{unit}.journal"))
    }
    fn read_unit(&self, unit: &str) -> Option<UnitFile> {
        std::fs::read_to_string(self.unit_path(unit))
            .ok()
            .map(|t| parse_unit(&t))
    }
    fn manager_log(&self, unit: &str, message: &str) {
        fake_service::append_journal(&self.journal(unit), "systemd", std::process::id(), message);
    }

    fn start(&self, unit: &str, verb: &str) -> Result<(), (i32, String)> {
        let Some(file) = self.read_unit(unit) else {
            return Err((
                5,
                format!("Failed to {verb} {unit}: Unit {unit} not found."),
            ));
        };
        let dir = self.job_dir(unit);
        if fake_service::job_running(&dir) {
            return Ok(());
        }
        if file.exec_start.is_empty() {
            return Err((
                1,
                format!("Failed to {verb} {unit}: Unit {unit} has a bad unit file setting."),
            ));
        }
        let mut env: Vec<(String, String)> = vec![(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        )];
        for key in ["HOME", "USER", "LOGNAME", fake_service_state_env()] {
            if let Ok(v) = std::env::var(key) {
                env.push((key.to_string(), v));
            }
        }
        for (k, v) in &file.env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        let job = Job {
            argv: file.exec_start.clone(),
            env,
            cwd: PathBuf::from("/"),
            stdout: file.stdout.clone(),
            stderr: file.stderr.clone(),
            journal: Some(self.journal(unit)),
            unit: unit.to_string(),
        };
        let described = if file.description.is_empty() {
            unit.to_string()
        } else {
            format!("{unit} - {}", file.description)
        };
        match fake_service::launch(&dir, &job) {
            Ok(_) => {
                self.manager_log(unit, &format!("Started {described}."));
                Ok(())
            }
            Err(e) => Err((1, format!("Job for {unit} failed: {e}"))),
        }
    }

    fn stop(&self, unit: &str) -> Result<(), (i32, String)> {
        let dir = self.job_dir(unit);
        if self.read_unit(unit).is_none() && !fake_service::job_running(&dir) {
            return Err((5, format!("Failed to stop {unit}: Unit {unit} not loaded.")));
        }
        if fake_service::job_running(&dir) {
            let described = self
                .read_unit(unit)
                .filter(|f| !f.description.is_empty())
                .map(|f| format!("{unit} - {}", f.description))
                .unwrap_or_else(|| unit.to_string());
            self.manager_log(unit, &format!("Stopping {described}..."));
            fake_service::stop(&dir, Duration::from_secs(10));
            self.manager_log(unit, &format!("Stopped {described}."));
        } else if dir.exists() {
            let _ = std::fs::write(dir.join("stopped"), "");
        }
        Ok(())
    }

    /// ActiveState and SubState as systemd would report them.
    fn active_state(&self, unit: &str) -> (&'static str, &'static str) {
        let dir = self.job_dir(unit);
        if fake_service::job_running(&dir) {
            return ("active", "running");
        }
        if fake_service::job_stopped(&dir) {
            return ("inactive", "dead");
        }
        match fake_service::job_ended(&dir) {
            Some(Ended::Code(0)) | None => ("inactive", "dead"),
            Some(_) => ("failed", "failed"),
        }
    }
}

fn fake_service_state_env() -> &'static str {
    parachute_tests::fake::STATE_ENV
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(fake_service::SUPERVISE_ARG) {
        let dir = std::env::args().nth(2).expect("job dir");
        fake_service::supervise(Path::new(&dir));
    }
    let (state, args) = parachute_tests::fake::record_invocation("systemctl");
    let mut user = false;
    let mut now = false;
    let mut value_only = false;
    let mut props: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--user" => user = true,
            "--system" => user = false,
            "--now" => now = true,
            "--value" => value_only = true,
            "--no-pager" | "-q" | "--quiet" | "--no-ask-password" => {}
            "-p" | "--property" => {
                if let Some(p) = it.next() {
                    props.extend(p.split(',').map(String::from));
                }
            }
            s if s.starts_with("--property=") => {
                props.extend(s["--property=".len()..].split(',').map(String::from))
            }
            s => words.push(s.to_string()),
        }
    }
    let Some(verb) = words.first().cloned() else {
        eprintln!("systemctl (fake): a verb is required");
        std::process::exit(1);
    };
    fake_service::fail_if_injected(&state, "systemctl", &verb);
    let scope = if user { "user" } else { "system" };
    let unit_dir = std::env::var_os("PARACHUTE_UNIT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            if user {
                PathBuf::from(std::env::var("HOME").unwrap_or_default())
                    .join(".config/systemd/user")
            } else {
                PathBuf::from("/etc/systemd/system")
            }
        });
    let ctx = Ctx {
        scope_dir: state.join("systemd").join(scope),
        unit_dir,
    };
    let _ = std::fs::create_dir_all(ctx.scope_dir.join("enabled"));
    let units: Vec<String> = words[1..].to_vec();
    let code = run(&ctx, &verb, &units, now, &props, value_only);
    std::process::exit(code);
}

fn run(
    ctx: &Ctx,
    verb: &str,
    units: &[String],
    now: bool,
    props: &[String],
    value_only: bool,
) -> i32 {
    match verb {
        "daemon-reload" => 0,
        "enable" | "disable" if units.is_empty() => {
            eprintln!("Too few arguments.");
            1
        }
        "enable" => {
            for unit in units {
                let Some(file) = ctx.read_unit(unit) else {
                    eprintln!("Failed to enable unit: Unit file {unit} does not exist.");
                    return 1;
                };
                let marker = ctx.enabled_marker(unit);
                if !marker.exists() {
                    std::fs::write(&marker, "").expect("write enabled marker");
                    let dir = ctx.unit_dir.display();
                    eprintln!(
                        "Created symlink '{dir}/{}.wants/{unit}' \u{2192} '{dir}/{unit}'.",
                        file.wanted_by
                    );
                }
                if now && let Err((code, msg)) = ctx.start(unit, "start") {
                    eprintln!("{msg}");
                    return code;
                }
            }
            0
        }
        "disable" => {
            for unit in units {
                let marker = ctx.enabled_marker(unit);
                let file = ctx.read_unit(unit);
                if file.is_none() && !marker.exists() {
                    eprintln!("Failed to disable unit: Unit file {unit} does not exist.");
                    return 1;
                }
                if marker.exists() {
                    let _ = std::fs::remove_file(&marker);
                    let wanted = file
                        .map(|f| f.wanted_by)
                        .unwrap_or_else(|| "default.target".into());
                    eprintln!(
                        "Removed '{}/{wanted}.wants/{unit}'.",
                        ctx.unit_dir.display()
                    );
                }
                if now && fake_service::job_running(&ctx.job_dir(unit)) {
                    let _ = ctx.stop(unit);
                }
            }
            0
        }
        "start" | "stop" | "restart" | "is-active" | "is-enabled" | "show" if units.is_empty() => {
            eprintln!("Too few arguments.");
            1
        }
        "start" => each(units, |u| ctx.start(u, "start")),
        "stop" => each(units, |u| ctx.stop(u)),
        "restart" => each(units, |u| {
            if ctx.read_unit(u).is_none() {
                return Err((5, format!("Failed to restart {u}: Unit {u} not found.")));
            }
            if fake_service::job_running(&ctx.job_dir(u)) {
                ctx.stop(u)?;
            }
            ctx.start(u, "restart")
        }),
        "is-active" => {
            let mut code = 0;
            for unit in units {
                let known = ctx.read_unit(unit).is_some() || ctx.job_dir(unit).exists();
                let (word, _) = ctx.active_state(unit);
                println!("{word}");
                if !known {
                    code = 4;
                } else if word != "active" && code == 0 {
                    code = 3;
                }
            }
            code
        }
        "is-enabled" => {
            let mut code = 0;
            for unit in units {
                if ctx.enabled_marker(unit).exists() {
                    println!("enabled");
                } else if ctx.read_unit(unit).is_some() {
                    println!("disabled");
                    code = code.max(1);
                } else {
                    println!("not-found");
                    code = 4;
                }
            }
            code
        }
        "show" => {
            for unit in units {
                let dir = ctx.job_dir(unit);
                let loaded = ctx.read_unit(unit).is_some();
                let (active, sub) = ctx.active_state(unit);
                let pid = if fake_service::job_running(&dir) {
                    fake_service::job_pid(&dir).unwrap_or(0)
                } else {
                    0
                };
                let status = match fake_service::job_ended(&dir) {
                    Some(Ended::Code(c)) => c,
                    Some(Ended::Signal(s)) => s,
                    None => 0,
                };
                // The manager's property order, not the order asked for.
                let all: [(&str, String); 5] = [
                    ("MainPID", pid.to_string()),
                    ("ExecMainStatus", status.to_string()),
                    (
                        "LoadState",
                        if loaded { "loaded" } else { "not-found" }.into(),
                    ),
                    ("ActiveState", active.into()),
                    ("SubState", sub.into()),
                ];
                for (name, value) in all {
                    if props.is_empty() || props.iter().any(|p| p == name) {
                        if value_only {
                            println!("{value}");
                        } else {
                            println!("{name}={value}");
                        }
                    }
                }
            }
            0
        }
        other => {
            eprintln!("Unknown command verb '{other}'.");
            1
        }
    }
}

/// Applies `f` to every unit, stopping at the first failure (printed on stderr).
fn each(units: &[String], mut f: impl FnMut(&str) -> Result<(), (i32, String)>) -> i32 {
    for unit in units {
        if let Err((code, msg)) = f(unit) {
            eprintln!("{msg}");
            return code;
        }
    }
    0
}
