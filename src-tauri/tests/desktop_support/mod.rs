//! The desktop suite's rig: a virtual display, a private session bus with `dbus-monitor`
//! watching notifications, optionally `trayer` as the tray, a temp home with an admin, the
//! fake `tailscale`, and the app launched with a private environment. Everything started
//! here is stopped on drop; every wait is bounded.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use parachute_tests::fake::FakeTools;
use parachute_tests::{TestHome, bin_dir, wait_for};

/// The programs the suite drives, and the Debian package of each.
const TOOLS: &[(&str, &str)] = &[
    ("Xvfb", "xvfb"),
    ("dbus-daemon", "dbus"),
    ("dbus-monitor", "dbus"),
    ("xdotool", "xdotool"),
    ("import", "imagemagick"),
    ("convert", "imagemagick"),
    ("compare", "imagemagick"),
    ("trayer", "trayer"),
];

fn on_path(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join(program).is_file())
}

fn require_tools() {
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(p, _)| !on_path(p))
        .map(|(p, pkg)| format!("{p} (apt: {pkg})"))
        .collect();
    assert!(
        missing.is_empty(),
        "the desktop suite needs {}; scripts/test installs them",
        missing.join(", ")
    );
}

/// A display, a bus, a home.
pub struct Desk {
    /// `:N`.
    display: String,
    /// The private bus address.
    bus: String,
    /// Xvfb, dbus-daemon, dbus-monitor, trayer: stopped on drop.
    children: Mutex<Vec<Child>>,
    /// Where dbus-monitor writes.
    monitor_log: PathBuf,
    /// Screenshots and logs.
    out: PathBuf,
    /// The app's home.
    home: TestHome,
    /// The person's home directory (autostart entries, ~/.bun).
    user: tempfile::TempDir,
    /// The fake tools.
    fakes: FakeTools,
    /// The hub port.
    pub port: u16,
    /// Ports of the modules added.
    module_ports: Mutex<Vec<u16>>,
}

impl Desk {
    /// A fresh display and bus; `tray`: start trayer as the tray.
    pub fn new(name: &str, tray: bool) -> Self {
        require_tools();
        let out = bin_dir().join("desktop-e2e").join(name);
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let mut children = Vec::new();
        let display = start_xvfb(&mut children);
        let (bus, daemon) = start_bus();
        children.push(daemon);
        let monitor_log = out.join("dbus-monitor.log");
        let monitor = Command::new("dbus-monitor")
            .arg("interface='org.freedesktop.Notifications'")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .stdout(std::fs::File::create(&monitor_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor");
        children.push(monitor);
        let home = TestHome::new();
        parachute_tests::auth::ensure_admin(home.path());
        let desk = Self {
            display,
            bus,
            children: Mutex::new(children),
            monitor_log,
            out,
            home,
            user: tempfile::tempdir().unwrap(),
            fakes: FakeTools::new(&["tailscale"]),
            port: parachute_tests::free_port(),
            module_ports: Mutex::new(Vec::new()),
        };
        if tray {
            let mut cmd = Command::new("trayer");
            cmd.args(["--edge", "top", "--align", "right", "--widthtype", "pixel"])
                .args(["--width", "120", "--height", "32", "--transparent", "false"])
                .args(["--tint", "0x404040"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            desk.display_env(&mut cmd);
            desk.children
                .lock()
                .unwrap()
                .push(cmd.spawn().expect("trayer"));
            // The tray owns its selection once its window is mapped.
            desk.wait_window("^panel$", Duration::from_secs(20));
        }
        desk
    }

    /// The config home.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Adds a module running `test-module args…` on `port`.
    pub fn add_module(&self, name: &str, port: u16, args: &[&str]) {
        parachute_tests::hub::add_test_module(self.home(), name, port, args);
        self.module_ports.lock().unwrap().push(port);
    }

    /// Sets the display and bus on `cmd`.
    pub fn display_env(&self, cmd: &mut Command) {
        cmd.env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("NO_AT_BRIDGE", "1");
    }

    /// The app's private environment (no display or bus).
    fn app_env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PARACHUTE_HOME", self.home())
            .env("PORT", self.port.to_string())
            .env("HOME", self.user.path())
            .env("USER", "tester")
            .env("XDG_CONFIG_HOME", self.user.path().join(".config"))
            .env("PATH", self.fakes.path_env())
            .env(parachute_tests::fake::STATE_ENV, self.fakes.state_dir())
            .env("PARACHUTE_UNIT_MANAGER", "none")
            .env("PARACHUTE_UNIT_DIR", self.user.path().join("units"))
            .env("PARACHUTE_UPDATE_CHECK_SECS", "0")
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LOG", "info");
    }

    /// `parachute-desktop --cli args…` with no display and no bus; its stdout.
    pub fn cli_without_display(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parachute-desktop"));
        self.app_env(&mut cmd);
        cmd.arg("--cli")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = parachute_tests::cli::run_bounded(cmd, args);
        format!("{}{}", out.stdout, out.stderr)
    }

    /// Visible windows whose name matches `pattern`.
    pub fn visible_windows(&self, pattern: &str) -> Vec<String> {
        let out = self.xdotool(&["search", "--onlyvisible", "--name", pattern]);
        out.lines().map(str::to_string).collect()
    }

    /// Waits for a visible window named like `pattern`.
    pub fn wait_window(&self, pattern: &str, timeout: Duration) -> String {
        wait_for(timeout, || self.visible_windows(pattern).into_iter().next())
            .unwrap_or_else(|| panic!("no visible window {pattern:?} within {timeout:?}"))
    }

    /// Runs xdotool on the display; its stdout.
    pub fn xdotool(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("xdotool");
        cmd.args(args);
        self.display_env(&mut cmd);
        let out = cmd.output().expect("xdotool");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `(x, y, width, height)` of a window.
    pub fn geometry(&self, win: &str) -> (i32, i32, i32, i32) {
        let text = self.xdotool(&["getwindowgeometry", "--shell", win]);
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (get("X"), get("Y"), get("WIDTH"), get("HEIGHT"))
    }

    /// Clicks the tray icon and waits for its menu; the menu's window id.
    pub fn open_menu(&self, icon: &str) -> String {
        let (x, y, w, h) = self.geometry(icon);
        let (cx, cy) = ((x + w / 2).to_string(), (y + h / 2).to_string());
        self.xdotool(&["mousemove", &cx, &cy, "click", "1"]);
        wait_for(Duration::from_secs(10), || {
            self.visible_windows("^parachute-desktop$")
                .into_iter()
                .filter(|win| win != icon)
                .find(|win| {
                    let (x, y, w, _) = self.geometry(win);
                    x >= 0 && y >= 0 && w > 50
                })
        })
        .expect("the tray menu did not open within 10s")
    }

    /// Presses keys on the focused window (the open menu).
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.xdotool(&["key", key]);
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Screenshot of one window.
    pub fn screenshot_window(&self, win: &str, name: &str) -> PathBuf {
        self.screenshot(&["-window", win], name)
    }

    /// Screenshot of the whole screen.
    pub fn screenshot_root(&self, name: &str) -> PathBuf {
        self.screenshot(&["-window", "root"], name)
    }

    fn screenshot(&self, args: &[&str], name: &str) -> PathBuf {
        // Give the page a moment to paint after the window mapped.
        std::thread::sleep(Duration::from_secs(2));
        let path = self.out.join(name);
        let mut cmd = Command::new("import");
        cmd.args(args).arg(&path);
        self.display_env(&mut cmd);
        let status = cmd.status().expect("import");
        assert!(status.success(), "import {name} failed");
        println!("screenshot: {}", path.display());
        path
    }

    /// Waits until dbus-monitor saw `needle`; the log so far.
    pub fn wait_monitor(&self, needle: &str, timeout: Duration) -> String {
        wait_for(timeout, || {
            let text = std::fs::read_to_string(&self.monitor_log).unwrap_or_default();
            text.contains(needle).then_some(text)
        })
        .unwrap_or_else(|| {
            panic!(
                "dbus-monitor never saw {needle:?} within {timeout:?}:\n{}",
                std::fs::read_to_string(&self.monitor_log).unwrap_or_default()
            )
        })
    }

    /// The recorded argv of a fake tool.
    pub fn fake_calls(&self, tool: &str) -> Vec<Vec<String>> {
        self.fakes.calls(tool)
    }

    fn module_ports(&self) -> Vec<u16> {
        self.module_ports.lock().unwrap().clone()
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        for child in self.children.lock().unwrap().iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts Xvfb on the first free display number from 90; `:N`.
fn start_xvfb(children: &mut Vec<Child>) -> String {
    for n in 90..190 {
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        if socket.exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let child = Command::new("Xvfb")
            .arg(format!(":{n}"))
            .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb");
        children.push(child);
        if wait_for(Duration::from_secs(10), || socket.exists().then_some(())).is_some() {
            return format!(":{n}");
        }
    }
    panic!("no free X display between :90 and :189");
}

/// A private session bus (what dbus-run-session starts); its address and the daemon.
fn start_bus() -> (String, Child) {
    let mut daemon = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon");
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the bus address");
    (line.trim().to_string(), daemon)
}

/// A launched app.
pub struct App {
    /// The process.
    child: Child,
    /// Its stderr/stdout.
    log: PathBuf,
    /// The hub port.
    port: u16,
}

impl App {
    /// Starts `parachute-desktop` for `desk` with `extra` environment.
    pub fn launch(desk: &Desk, extra: &[(&str, &str)]) -> Self {
        let n = std::fs::read_dir(&desk.out).map(|d| d.count()).unwrap_or(0);
        let log = desk.out.join(format!("app-{n}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parachute-desktop"));
        desk.app_env(&mut cmd);
        desk.display_env(&mut cmd);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let file = std::fs::File::create(&log).unwrap();
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        Self {
            child: cmd.spawn().expect("parachute-desktop"),
            log,
            port: desk.port,
        }
    }

    /// Waits for the hub's `/health`.
    pub fn wait_healthy(&mut self) {
        let port = self.port;
        let up = wait_for(Duration::from_secs(60), || {
            parachute_tests::http::get(port, "/health")
                .ok()
                .filter(|r| r.status == 200)
        });
        assert!(up.is_some(), "the hub never answered:\n{}", self.log());
    }

    /// The output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for a line containing `needle`; that line.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        wait_for(timeout, || {
            self.log()
                .lines()
                .find(|l| l.contains(needle))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no {needle:?} within {timeout:?}:\n{}", self.log()))
    }

    /// Asserts the output has a line containing `needle`.
    pub fn assert_log(&self, needle: &str) {
        assert!(
            self.log().contains(needle),
            "no {needle:?}:\n{}",
            self.log()
        );
    }

    /// SIGTERM.
    pub fn terminate(&self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
    }

    /// Waits for the exit (bounded); its code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let status = wait_for(timeout, || self.child.try_wait().ok().flatten());
        status.and_then(|s| s.code())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pids listening on the desk's module ports now.
pub fn module_pids(desk: &Desk) -> Vec<u32> {
    desk.module_ports()
        .into_iter()
        .flat_map(parachute_os::port::listeners)
        .map(|h| h.pid)
        .collect()
}

/// Asserts every pid is gone within 10 s.
pub fn assert_gone(pids: &[u32]) {
    for pid in pids {
        let gone = wait_for(Duration::from_secs(10), || {
            parachute_tests::pid_gone(*pid).then_some(())
        });
        assert!(gone.is_some(), "pid {pid} outlived the app");
    }
}

/// Waits for a file to exist.
pub fn wait_file(path: &Path, timeout: Duration) {
    let seen = wait_for(timeout, || path.exists().then_some(()));
    assert!(seen.is_some(), "{} never appeared", path.display());
}

/// How many pixels differ between two screenshots (ImageMagick `compare -metric AE`).
pub fn pixels_differ(a: &Path, b: &Path) -> u64 {
    let out = Command::new("compare")
        .args(["-metric", "AE"])
        .arg(a)
        .arg(b)
        .arg("null:")
        .output()
        .expect("ImageMagick compare");
    let text = String::from_utf8_lossy(&out.stderr);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse::<f64>().ok())
        .map(|n| n as u64)
        .unwrap_or_else(|| panic!("compare said {text:?}"))
}
