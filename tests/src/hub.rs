//! A real `parachute serve` process for the suites: started on a free port against a
//! [`TestHome`](crate::TestHome), its stdout captured line by line, stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{bin, free_port, wait_for};

/// A running hub.
pub struct HubProcess {
    /// The `parachute serve` child.
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Every stdout and stderr line so far.
    output: Arc<Mutex<Vec<String>>>,
}

/// Options for [`HubProcess::start_with`].
#[derive(Default)]
pub struct HubOptions {
    /// Extra environment for the hub (and so for its modules).
    pub env: Vec<(String, String)>,
    /// Wait for `/health` before returning (default true via [`HubProcess::start`]).
    pub no_wait: bool,
    /// Run the hub under this umask (`sh -c 'umask …; exec parachute serve'`), leaving the
    /// suite's own umask alone.
    pub umask: Option<u32>,
    /// Listen on this port instead of a free one picked at start (for a test that must name
    /// the hub's URL in the environment it starts with).
    pub port: Option<u16>,
}

impl HubProcess {
    /// Starts `parachute serve` for `home` on a free port and waits for `/health`.
    pub fn start(home: &Path) -> Self {
        Self::start_with(home, HubOptions::default())
    }

    /// Starts `parachute serve` with extra options.
    pub fn start_with(home: &Path, options: HubOptions) -> Self {
        let port = options.port.unwrap_or_else(free_port);
        let mut cmd = match options.umask {
            Some(mask) => {
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-c")
                    .arg(format!("umask {mask:03o}; exec \"$0\" serve"))
                    .arg(bin("parachute"));
                cmd
            }
            None => {
                let mut cmd = Command::new(bin("parachute"));
                cmd.arg("serve");
                cmd
            }
        };
        cmd.env("PARACHUTE_HOME", home)
            .env("PORT", port.to_string())
            .env("RUST_LOG", "info")
            .env_remove("PARACHUTE_HUB_ORIGIN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn parachute serve");
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sink = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        let hub = Self {
            child,
            port,
            output,
        };
        if !options.no_wait {
            let up = wait_for(Duration::from_secs(30), || {
                crate::http::get(port, "/health")
                    .ok()
                    .filter(|r| r.status == 200)
            });
            assert!(
                up.is_some(),
                "hub never answered /health:\n{}",
                hub.output_text()
            );
        }
        hub
    }

    /// The hub's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every captured line so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    /// Captured output as one string (for assertion messages).
    pub fn output_text(&self) -> String {
        self.output().join("\n")
    }

    /// Waits until a captured line contains `needle`; returns that line.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> String {
        wait_for(timeout, || {
            self.output().into_iter().find(|l| l.contains(needle))
        })
        .unwrap_or_else(|| {
            panic!(
                "no line containing {needle:?} within {timeout:?}:\n{}",
                self.output_text()
            )
        })
    }

    /// Sends a signal to the hub process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// Waits for the hub to exit (up to `timeout`) and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let status = wait_for(timeout, || self.child.try_wait().ok().flatten());
        status.map(|s| s.code().unwrap_or(-1))
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(30))
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
            if self.wait_exit(Duration::from_secs(10)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Writes a third-party module `name` whose start command runs `test-module args…`, and adds
/// its row to `services.json` (port `port`, path `/<name>`).
pub fn add_test_module(home: &Path, name: &str, port: u16, args: &[&str]) {
    let install_dir = home.join("mods").join(name);
    std::fs::create_dir_all(install_dir.join(".parachute")).unwrap();
    let mut argv = vec![bin("test-module").display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let module_json = serde_json::json!({ "name": name, "startCmd": argv });
    std::fs::write(
        install_dir.join(".parachute/module.json"),
        serde_json::to_string_pretty(&module_json).unwrap(),
    )
    .unwrap();
    add_row(
        home,
        serde_json::json!({
            "name": name,
            "port": port,
            "paths": [format!("/{name}")],
            "health": "/health",
            "version": "1.0.0",
            "installDir": install_dir,
        }),
    );
}

/// Appends a raw row (any JSON, valid or not) to `services.json`.
pub fn add_row(home: &Path, row: serde_json::Value) {
    let path = home.join("services.json");
    let mut doc: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| serde_json::json!({"services": []}));
    doc["services"].as_array_mut().unwrap().push(row);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}

/// Pids of the processes whose command line contains `needle` (zombies excluded).
pub fn pids_matching(needle: &str) -> Vec<u32> {
    parachute_os::process::all_pids()
        .into_iter()
        .filter(|pid| {
            parachute_os::process::command_line(*pid).is_some_and(|cmd| cmd.contains(needle))
                && !crate::pid_gone(*pid)
        })
        .collect()
}
