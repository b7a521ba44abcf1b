//! Stopping legacy processes: process groups, pid-reuse checks, and the "provably ours" rule.
//!
//! The detached daemons of older installs were started as process-group leaders and recorded in
//! pid files. A wrapper start command (`bunx`, `pnpm exec …`) leaves the real server as a
//! grandchild in that group, so stopping means signalling the whole group and waiting until no
//! member is left. A pid file can be stale and its pid reused by an unrelated process, so a
//! recorded pid only counts as ours when that process started before the pid file was written.

use std::path::Path;
use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;
use parachute_os::process;

/// Members (not zombies) of process group `pgid`, as far as this user can see (Linux).
pub fn group_members(pgid: u32) -> Vec<u32> {
    process::group_members(pgid)
}

/// The process group of `pid` (Linux), when readable.
pub fn pgid_of(pid: u32) -> Option<u32> {
    process::stat(pid).map(|s| s.pgrp)
}

/// True while `pid` or any member of the group it leads is alive.
pub fn group_alive(pid: u32) -> bool {
    if process::is_alive(pid) {
        return true;
    }
    if cfg!(target_os = "linux") {
        return !group_members(pid).is_empty();
    }
    let pg = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::killpg(pg, None).is_ok()
}

/// When `pid` started (Linux: `/proc/<pid>/stat` start ticks after boot), if knowable.
pub fn start_time(pid: u32) -> Option<SystemTime> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let ticks = process::stat(pid)?.start_ticks;
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse::<u64>()
        .ok()?;
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    let millis = boot * 1000 + ticks * 1000 / hz as u64;
    Some(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
}

/// Slack between a process start and its pid file's timestamp (clock granularity).
const PIDFILE_SLACK: Duration = Duration::from_secs(2);

/// True when the live process `pid` can be the one recorded in `pid_file`: it started before
/// the file was last written. A process started later reuses a stale pid and is not ours.
/// When either time is unknown the record is trusted (the original's behaviour).
pub fn matches_record(pid: u32, pid_file: &Path) -> bool {
    let written = std::fs::metadata(pid_file).and_then(|m| m.modified()).ok();
    match (start_time(pid), written) {
        (Some(started), Some(written)) => started <= written + PIDFILE_SLACK,
        _ => true,
    }
}

/// True when `pid` must never be signalled whatever any record says: init, ourselves, our
/// parent.
pub fn untouchable(pid: u32) -> bool {
    pid <= 1
        || pid == std::process::id()
        || process::parent_pid(std::process::id()) == Some(pid)
        || pid > i32::MAX as u32
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Nothing was running.
    WasNotRunning,
    /// It exited after SIGTERM.
    Terminated,
    /// It ignored SIGTERM for the whole grace period and was killed.
    Killed,
    /// Even SIGKILL did not make it go away (another user's process, uninterruptible sleep).
    Survived,
}

/// Stops the process group led by `pid` (or `pid` alone when it leads none): SIGTERM, wait up
/// to `grace` for every member to go, then SIGKILL and wait a little more.
pub fn stop_group(pid: u32, grace: Duration, poll: Duration) -> Stopped {
    if untouchable(pid) || !group_alive(pid) {
        return Stopped::WasNotRunning;
    }
    let _ = process::signal_group(pid, Signal::SIGTERM);
    if wait(grace, poll, || !group_alive(pid)) {
        return Stopped::Terminated;
    }
    tracing::warn!(pid, "process group ignored SIGTERM; sending SIGKILL");
    let _ = process::signal_group(pid, Signal::SIGKILL);
    if wait(Duration::from_secs(5), poll, || !group_alive(pid)) {
        Stopped::Killed
    } else {
        Stopped::Survived
    }
}

/// Stops one process (not its group): SIGTERM, `grace`, SIGKILL.
pub fn stop_one(pid: u32, grace: Duration, poll: Duration) -> Stopped {
    if untouchable(pid) || !process::is_alive(pid) {
        return Stopped::WasNotRunning;
    }
    let _ = process::signal(pid, Signal::SIGTERM);
    if wait(grace, poll, || !process::is_alive(pid)) {
        return Stopped::Terminated;
    }
    let _ = process::signal(pid, Signal::SIGKILL);
    if wait(Duration::from_secs(5), poll, || !process::is_alive(pid)) {
        Stopped::Killed
    } else {
        Stopped::Survived
    }
}

/// Polls `done` every `poll` until it holds or `budget` passes; true when it held.
pub fn wait(budget: Duration, poll: Duration, done: impl FnMut() -> bool) -> bool {
    parachute_os::wait::poll_for(budget, poll, done)
}

/// True when a command line names Parachute (case-insensitive): every first-party module, the
/// original hub (`…/@openparachute/hub/src/cli.ts serve`) and this binary carry the word.
pub fn names_parachute(command: &str) -> bool {
    command.to_ascii_lowercase().contains("parachute")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    fn spawn_group(script: &str) -> std::process::Child {
        Command::new("/bin/sh")
            .args(["-c", script])
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_group_with_a_lingering_grandchild_is_alive_until_the_group_is_stopped() {
        // The leader forks a sleeper, then waits: both are in the group.
        let mut leader = spawn_group("sleep 300 & wait");
        let pid = leader.id();
        assert!(wait(
            Duration::from_secs(10),
            Duration::from_millis(20),
            || { group_members(pid).len() >= 2 }
        ));
        assert!(group_alive(pid));
        assert_eq!(pgid_of(pid), Some(pid));
        let outcome = stop_group(pid, Duration::from_secs(10), Duration::from_millis(20));
        assert_eq!(outcome, Stopped::Terminated);
        let _ = leader.wait();
        assert!(group_members(pid).is_empty());
        assert!(!group_alive(pid));
        assert_eq!(
            stop_group(pid, Duration::from_secs(1), Duration::from_millis(20)),
            Stopped::WasNotRunning
        );
    }

    #[test]
    fn sigterm_ignorers_are_killed_after_the_grace_period() {
        let mut child = spawn_group("trap '' TERM; while :; do sleep 1; done");
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(200));
        let outcome = stop_group(pid, Duration::from_millis(500), Duration::from_millis(20));
        assert_eq!(outcome, Stopped::Killed);
        let _ = child.wait();
    }

    #[test]
    fn a_pid_file_older_than_the_process_is_a_reused_pid() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.pid");
        std::fs::write(&file, "1\n").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let me = std::process::id();
        assert!(start_time(me).is_some());
        // This test process started seconds ago, long after an hour-old pid file.
        assert!(!matches_record(me, &file));
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(SystemTime::now())
            .unwrap();
        assert!(matches_record(me, &file));
    }

    #[test]
    fn ourselves_and_init_are_untouchable() {
        assert!(untouchable(0));
        assert!(untouchable(1));
        assert!(untouchable(std::process::id()));
        assert_eq!(
            stop_one(std::process::id(), Duration::ZERO, Duration::ZERO),
            Stopped::WasNotRunning
        );
    }

    #[test]
    fn parachute_in_the_command_line_is_case_insensitive() {
        assert!(names_parachute(
            "bun /home/u/.bun/install/global/node_modules/@openparachute/hub/src/cli.ts serve"
        ));
        assert!(names_parachute("/usr/bin/Parachute-Vault serve"));
        assert!(!names_parachute("python3 -m http.server 1940"));
    }
}
