//! Fake `systemd-run` for the black-box suites: starts a command as a transient service the
//! way `systemd-run [--user] --unit=NAME …` does, outside the caller's process group and
//! session (the real one puts it in its own cgroup), and returns at once.
//!
//! Understood: `--user`, `--system`, `--collect`/`-G`, `--quiet`/`-q`, `--unit[=]NAME`/`-u`,
//! `--description[=]TEXT`, `--property[=]K=V`/`-p` (only `StandardOutput=append:<file>` and
//! `StandardError=append:<file>` act), `--setenv[=]K=V`/`-E`, then the command (after an
//! optional `--`). Like the real tool the command does not inherit the caller's environment:
//! it gets a system `PATH`, `HOME`/`USER`/`LOGNAME` (the user manager's), the fakes' state
//! variable, then every `--setenv`. The command must be an absolute path or found on that
//! `PATH`. The job is kept like the fake `systemctl`'s (`<state>/systemd/<scope>/jobs/<unit>`),
//! so `systemctl is-active|stop <unit>` see it and dropping a test stand stops it.
//! Failure injection: a line `run <exit> <text>` in `<state>/systemd-run.fail`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

mod fake_service;

use std::path::{Path, PathBuf};

use fake_service::Job;

/// What the command line asked for.
#[derive(Default)]
struct Request {
    user: bool,
    quiet: bool,
    unit: Option<String>,
    description: Option<String>,
    stdout: Option<PathBuf>,
    stderr: Option<PathBuf>,
    setenv: Vec<(String, String)>,
    command: Vec<String>,
}

/// Splits `--flag=value` or takes the next argument for `--flag value`.
fn value(
    arg: &str,
    flag: &str,
    short: Option<&str>,
    it: &mut std::slice::Iter<String>,
) -> Option<String> {
    if let Some(v) = arg.strip_prefix(&format!("{flag}=")) {
        return Some(v.to_string());
    }
    if arg == flag || short == Some(arg) {
        return it.next().cloned();
    }
    None
}

fn parse(args: &[String]) -> Result<Request, String> {
    let mut req = Request::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let a = arg.as_str();
        if a == "--" {
            req.command = it.cloned().collect();
            break;
        }
        if !a.starts_with('-') {
            req.command = std::iter::once(arg.clone()).chain(it.cloned()).collect();
            break;
        }
        match a {
            "--user" => req.user = true,
            "--system" => req.user = false,
            "--collect" | "-G" => {}
            "--quiet" | "-q" => req.quiet = true,
            _ => {
                if let Some(v) = value(a, "--unit", Some("-u"), &mut it) {
                    req.unit = Some(v);
                } else if let Some(v) = value(a, "--description", None, &mut it) {
                    req.description = Some(v);
                } else if let Some(v) = value(a, "--property", Some("-p"), &mut it) {
                    let (k, val) = v
                        .split_once('=')
                        .ok_or(format!("Failed to parse property: {v}"))?;
                    let path = val.strip_prefix("append:").map(PathBuf::from);
                    match k {
                        "StandardOutput" => req.stdout = path,
                        "StandardError" => req.stderr = path,
                        _ => {}
                    }
                } else if let Some(v) = value(a, "--setenv", Some("-E"), &mut it) {
                    let (k, val) = v
                        .split_once('=')
                        .ok_or(format!("Failed to parse environment: {v}"))?;
                    req.setenv.push((k.to_string(), val.to_string()));
                } else {
                    return Err(format!("systemd-run (fake): unknown option '{a}'"));
                }
            }
        }
    }
    if req.command.is_empty() {
        return Err("Command line to execute required.".into());
    }
    Ok(req)
}

fn resolve(program: &str, path: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Some(PathBuf::from(program));
    }
    path.split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(fake_service::SUPERVISE_ARG) {
        let dir = std::env::args().nth(2).expect("job dir");
        fake_service::supervise(Path::new(&dir));
    }
    let (state, args) = parachute_tests::fake::record_invocation("systemd-run");
    fake_service::fail_if_injected(&state, "systemd-run", "run");
    let req = match parse(&args) {
        Ok(r) => r,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(1);
        }
    };
    let mut env: Vec<(String, String)> = vec![(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    )];
    for key in ["HOME", "USER", "LOGNAME", parachute_tests::fake::STATE_ENV] {
        if let Ok(v) = std::env::var(key) {
            env.push((key.to_string(), v));
        }
    }
    for (k, v) in &req.setenv {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let Some(program) = resolve(&req.command[0], &path) else {
        eprintln!(
            "Failed to find executable {}: No such file or directory",
            req.command[0]
        );
        std::process::exit(1);
    };
    let name = req
        .unit
        .clone()
        .unwrap_or_else(|| format!("run-u{}", std::process::id()));
    let unit = if name.contains('.') {
        name
    } else {
        format!("{name}.service")
    };
    let scope = if req.user { "user" } else { "system" };
    let dir = state.join("systemd").join(scope).join("jobs").join(&unit);
    if fake_service::job_running(&dir) {
        eprintln!(
            "Failed to start transient service unit: Unit {unit} was already loaded or has a fragment file."
        );
        std::process::exit(1);
    }
    let mut argv = vec![program.display().to_string()];
    argv.extend(req.command[1..].iter().cloned());
    let job = Job {
        argv,
        env,
        cwd: PathBuf::from("/"),
        stdout: req.stdout.clone(),
        stderr: req.stderr.clone(),
        journal: Some(
            state
                .join("systemd")
                .join(scope)
                .join(format!("{unit}.journal")),
        ),
        unit: unit.clone(),
    };
    if let Some(d) = &req.description {
        let journal = state
            .join("systemd")
            .join(scope)
            .join(format!("{unit}.journal"));
        fake_service::append_journal(
            &journal,
            "systemd",
            std::process::id(),
            &format!("Started {unit} - {d}."),
        );
    }
    match fake_service::launch(&dir, &job) {
        Ok(_) => {
            if !req.quiet {
                eprintln!(
                    "Running as unit: {unit}; invocation ID: {:032x}",
                    std::process::id()
                );
            }
        }
        Err(e) => {
            eprintln!("Failed to start transient service unit: {e}");
            std::process::exit(1);
        }
    }
}
