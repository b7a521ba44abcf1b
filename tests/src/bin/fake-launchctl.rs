//! Fake `launchctl` for the black-box suites (see TOOL-FORMATS.md §4).
//!
//! Verbs: `bootstrap <domain> <plist>`, `bootout <domain>/<label>`, `kickstart [-k] [-p]
//! <domain>/<label>`, `print <domain>/<label>`, `load -w <plist>`, with launchctl's streams and
//! exit codes (113 "Could not find service" for a job that is not loaded). Loading a plist with
//! `RunAtLoad` really runs its `ProgramArguments` in the background (own session,
//! `EnvironmentVariables`, output appended to `StandardOutPath`/`StandardErrorPath`);
//! `bootout` and `kickstart -k` SIGTERM it — this fake stands in for launchd.
//!
//! State: `<state>/launchd/loaded/<label>` (domain and plist path), `…/jobs/<label>/`.
//! Failure injection: each line `<verb> <exit> <stderr text>` of `<state>/launchctl.fail`
//! makes that verb fail (`*` matches every verb).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program talks like the tool it stands in for.

mod fake_service;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_service::{Ended, Job};

struct Plist {
    label: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    run_at_load: bool,
    stdout: Option<PathBuf>,
    stderr: Option<PathBuf>,
}

fn read_plist(path: &Path) -> Result<Plist, String> {
    let value: plist::Value = plist::from_file(path).map_err(|e| e.to_string())?;
    let dict = value.as_dictionary().ok_or("not a dictionary")?;
    let string = |k: &str| dict.get(k).and_then(|v| v.as_string()).map(String::from);
    let label = string("Label").ok_or("no Label")?;
    let args = dict
        .get("ProgramArguments")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_string().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let env = dict
        .get("EnvironmentVariables")
        .and_then(|v| v.as_dictionary())
        .map(|d| {
            d.iter()
                .filter_map(|(k, v)| v.as_string().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Plist {
        label,
        args,
        env,
        run_at_load: dict
            .get("RunAtLoad")
            .and_then(|v| v.as_boolean())
            .unwrap_or(false),
        stdout: string("StandardOutPath").map(PathBuf::from),
        stderr: string("StandardErrorPath").map(PathBuf::from),
    })
}

struct Ctx {
    root: PathBuf,
}

impl Ctx {
    fn loaded_file(&self, label: &str) -> PathBuf {
        self.root.join("loaded").join(label)
    }
    fn job_dir(&self, label: &str) -> PathBuf {
        self.root.join("jobs").join(label)
    }
    /// `(domain, plist path)` of a loaded job.
    fn loaded(&self, label: &str) -> Option<(String, PathBuf)> {
        let text = std::fs::read_to_string(self.loaded_file(label)).ok()?;
        let mut lines = text.lines();
        Some((lines.next()?.to_string(), PathBuf::from(lines.next()?)))
    }

    fn launch(&self, plist: &Plist) -> Result<u32, String> {
        let mut env: Vec<(String, String)> =
            vec![("PATH".into(), "/usr/bin:/bin:/usr/sbin:/sbin".into())];
        for key in ["HOME", "USER", "LOGNAME", parachute_tests::fake::STATE_ENV] {
            if let Ok(v) = std::env::var(key) {
                env.push((key.to_string(), v));
            }
        }
        for (k, v) in &plist.env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        let sink = self.root.join(format!("{}.log", plist.label));
        let job = Job {
            argv: plist.args.clone(),
            env,
            cwd: PathBuf::from("/"),
            stdout: Some(plist.stdout.clone().unwrap_or_else(|| sink.clone())),
            stderr: Some(plist.stderr.clone().unwrap_or(sink)),
            journal: None,
            unit: plist.label.clone(),
        };
        fake_service::launch(&self.job_dir(&plist.label), &job)
    }

    fn load(&self, domain: &str, path: &Path) -> Result<(), (i32, String)> {
        let plist = read_plist(path).map_err(|e| {
            if path.exists() {
                (5, format!("Bootstrap failed: 5: Input/output error ({e})"))
            } else {
                (
                    2,
                    "Bootstrap failed: 2: No such file or directory".to_string(),
                )
            }
        })?;
        if self.loaded(&plist.label).is_some() {
            return Err((
                5,
                "Bootstrap failed: 5: Input/output error\nTry re-running the command as root for richer errors."
                    .into(),
            ));
        }
        std::fs::create_dir_all(self.root.join("loaded")).expect("state dir");
        std::fs::write(
            self.loaded_file(&plist.label),
            format!("{domain}\n{}\n", path.display()),
        )
        .expect("write loaded marker");
        // A fresh load starts a fresh job record.
        let _ = std::fs::remove_dir_all(self.job_dir(&plist.label));
        if plist.run_at_load && !plist.args.is_empty() {
            self.launch(&plist)
                .map_err(|e| (5, format!("Bootstrap failed: 5: Input/output error ({e})")))?;
        }
        Ok(())
    }
}

/// Splits `gui/501/computer.parachute.hub` into (`gui/501`, `computer.parachute.hub`).
fn split_target(target: &str) -> (String, String) {
    match target.rsplit_once('/') {
        Some((domain, label)) => (domain.to_string(), label.to_string()),
        None => (String::new(), target.to_string()),
    }
}

fn not_found(label: &str, domain: &str) -> String {
    let who = match domain.strip_prefix("gui/") {
        Some(uid) => format!("user gui: {uid}"),
        None => domain.to_string(),
    };
    format!("Could not find service \"{label}\" in domain for {who}")
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(fake_service::SUPERVISE_ARG) {
        let dir = std::env::args().nth(2).expect("job dir");
        fake_service::supervise(Path::new(&dir));
    }
    let (state, args) = parachute_tests::fake::record_invocation("launchctl");
    let Some(verb) = args.first().cloned() else {
        eprintln!("Usage: launchctl <subcommand> ... | help [subcommand]");
        std::process::exit(64);
    };
    fake_service::fail_if_injected(&state, "launchctl", &verb);
    let ctx = Ctx {
        root: state.join("launchd"),
    };
    let _ = std::fs::create_dir_all(&ctx.root);
    let rest = &args[1..];
    let code = match verb.as_str() {
        "bootstrap" => match rest {
            [domain, path] => report(ctx.load(domain, Path::new(path))),
            _ => usage(),
        },
        "load" => {
            let paths: Vec<&String> = rest.iter().filter(|a| !a.starts_with('-')).collect();
            let uid = nix::unistd::getuid().as_raw();
            match paths.as_slice() {
                [path] => report(
                    ctx.load(&format!("gui/{uid}"), Path::new(path))
                        .map_err(|(code, _)| {
                            (code, "Load failed: 5: Input/output error".to_string())
                        }),
                ),
                _ => usage(),
            }
        }
        "bootout" => match rest {
            [target] => {
                let (_, label) = split_target(target);
                if ctx.loaded(&label).is_none() {
                    eprintln!("Boot-out failed: 3: No such process");
                    3
                } else {
                    fake_service::stop(&ctx.job_dir(&label), Duration::from_secs(10));
                    let _ = std::fs::remove_file(ctx.loaded_file(&label));
                    0
                }
            }
            _ => usage(),
        },
        "kickstart" => {
            let kill = rest.iter().any(|a| a == "-k");
            let print_pid = rest.iter().any(|a| a == "-p");
            match rest.iter().find(|a| !a.starts_with('-')) {
                Some(target) => {
                    let (domain, label) = split_target(target);
                    match ctx.loaded(&label) {
                        None => {
                            eprintln!("{}", not_found(&label, &domain));
                            113
                        }
                        Some((_, path)) => {
                            let dir = ctx.job_dir(&label);
                            let running = fake_service::job_running(&dir);
                            if running && kill {
                                fake_service::stop(&dir, Duration::from_secs(10));
                            }
                            if running && !kill {
                                0
                            } else {
                                match read_plist(&path).and_then(|p| ctx.launch(&p)) {
                                    Ok(pid) => {
                                        if print_pid {
                                            println!("service spawned with pid: {pid}");
                                        }
                                        0
                                    }
                                    Err(e) => {
                                        eprintln!("Could not kickstart service \"{label}\": {e}");
                                        5
                                    }
                                }
                            }
                        }
                    }
                }
                None => usage(),
            }
        }
        "print" => match rest {
            [target] => {
                let (domain, label) = split_target(target);
                match ctx.loaded(&label) {
                    None => {
                        eprintln!("Bad request.\n{}", not_found(&label, &domain));
                        113
                    }
                    Some((_, path)) => {
                        print!("{}", describe(&ctx, &domain, &label, &path));
                        0
                    }
                }
            }
            _ => usage(),
        },
        other => {
            eprintln!("Unrecognized subcommand: {other}");
            64
        }
    };
    std::process::exit(code);
}

/// A `launchctl print` block: top-level keys on one-tab lines, nested blocks on two tabs.
fn describe(ctx: &Ctx, domain: &str, label: &str, path: &Path) -> String {
    let dir = ctx.job_dir(label);
    let running = fake_service::job_running(&dir);
    let plist = read_plist(path).ok();
    let mut out = format!("{domain}/{label} = {{\n");
    out.push_str(&format!("\tactive count = {}\n", u8::from(running)));
    out.push_str(&format!("\tpath = {}\n", path.display()));
    out.push_str("\ttype = LaunchAgent\n");
    out.push_str(&format!(
        "\tstate = {}\n\n",
        if running { "running" } else { "not running" }
    ));
    if let Some(p) = &plist {
        if let Some(program) = p.args.first() {
            out.push_str(&format!("\tprogram = {program}\n"));
        }
        out.push_str("\targuments = {\n");
        for a in &p.args {
            out.push_str(&format!("\t\t{a}\n"));
        }
        out.push_str("\t}\n\n");
    }
    out.push_str(
        "\tresource coalition = {\n\t\tID = 1234\n\t\ttype = resource\n\t\tstate = active\n\t}\n\n",
    );
    let runs = u8::from(dir.join("pid").exists());
    out.push_str(&format!("\tdomain = {domain} [100008]\n"));
    out.push_str(&format!("\truns = {runs}\n"));
    if running && let Some(pid) = fake_service::job_pid(&dir) {
        out.push_str(&format!("\tpid = {pid}\n"));
    }
    match (running, fake_service::job_ended(&dir)) {
        (false, Some(Ended::Code(c))) => out.push_str(&format!("\tlast exit code = {c}\n")),
        (false, Some(Ended::Signal(s))) => {
            out.push_str(&format!("\tlast terminating signal = Signal {s}\n"));
            out.push_str("\tlast exit code = (never exited)\n");
        }
        _ => out.push_str("\tlast exit code = (never exited)\n"),
    }
    out.push_str("}\n");
    out
}

fn report(result: Result<(), (i32, String)>) -> i32 {
    match result {
        Ok(()) => 0,
        Err((code, msg)) => {
            eprintln!("{msg}");
            code
        }
    }
}

fn usage() -> i32 {
    eprintln!("Unrecognized target specifier.");
    64
}
