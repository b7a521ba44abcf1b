//! Fake external tools: a private `PATH` directory and a state directory the fakes share.
//!
//! Each fake is a binary `fake-<tool>` in this package. [`FakeTools::new`] links the chosen
//! ones into a temp `bin/` under their real names (`systemctl`, `tailscale`, …) and creates a
//! state directory. Fakes find it through `PARACHUTE_FAKE_STATE`, record every invocation's
//! argv as one JSON array per line in `<state>/<tool>.calls.jsonl`, keep whatever state the
//! real tool keeps under `<state>/<tool>/`, and fail on demand as each fake documents.

use std::path::{Path, PathBuf};

/// The environment variable through which fakes find their state directory.
pub const STATE_ENV: &str = "PARACHUTE_FAKE_STATE";

/// A temp `bin/` of fake tools plus their shared state directory.
pub struct FakeTools {
    /// Owns both directories.
    root: tempfile::TempDir,
}

impl FakeTools {
    /// Links `fake-<tool>` as `<tool>` for every name in `tools`.
    pub fn new(tools: &[&str]) -> Self {
        let root = tempfile::Builder::new()
            .prefix("parachute-fakes-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(root.path().join("bin")).unwrap();
        std::fs::create_dir_all(root.path().join("state")).unwrap();
        let fakes = Self { root };
        for tool in tools {
            fakes.add(tool);
        }
        fakes
    }

    /// Links one more fake tool into the bin directory.
    pub fn add(&self, tool: &str) {
        let target = crate::bin(&format!("fake-{tool}"));
        std::os::unix::fs::symlink(target, self.bin_dir().join(tool)).unwrap();
    }

    /// Puts any executable at `bin/<name>` (e.g. a shell script standing in for `bun`).
    pub fn add_script(&self, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.bin_dir().join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The directory to put first on `PATH`.
    pub fn bin_dir(&self) -> PathBuf {
        self.root.path().join("bin")
    }

    /// The state directory (`PARACHUTE_FAKE_STATE`).
    pub fn state_dir(&self) -> PathBuf {
        self.root.path().join("state")
    }

    /// `PATH` with the fakes first, then the system directories (never the caller's own PATH
    /// entries beyond /usr and /bin, so a real tool on the developer's machine is never used).
    pub fn path_env(&self) -> String {
        format!(
            "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            self.bin_dir().display()
        )
    }

    /// Every recorded argv of `tool`, oldest first.
    pub fn calls(&self, tool: &str) -> Vec<Vec<String>> {
        read_calls(&self.state_dir(), tool)
    }

    /// Forgets the recorded calls of `tool`.
    pub fn clear_calls(&self, tool: &str) {
        let _ = std::fs::remove_file(self.state_dir().join(format!("{tool}.calls.jsonl")));
    }
}

/// Reads `<state>/<tool>.calls.jsonl`.
pub fn read_calls(state: &Path, tool: &str) -> Vec<Vec<String>> {
    let path = state.join(format!("{tool}.calls.jsonl"));
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("calls line is a JSON array"))
        .collect()
}

/// For the fakes themselves: the state dir, and append this invocation's argv to the log.
pub fn record_invocation(tool: &str) -> (PathBuf, Vec<String>) {
    use std::io::Write;
    let state = std::env::var_os(STATE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            eprintln!("fake {tool}: {STATE_ENV} is not set");
            std::process::exit(97);
        });
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.join(format!("{tool}.calls.jsonl")))
        .expect("open calls log");
    // One write per line: O_APPEND keeps concurrent fakes' lines whole.
    let line = format!("{}\n", serde_json::to_string(&args).unwrap());
    file.write_all(line.as_bytes()).unwrap();
    (state, args)
}
