//! Process inspection and signalling.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// The command line of `pid` with arguments joined by spaces, when this user can read it.
pub fn command_line(pid: u32) -> Option<String> {
    if cfg!(target_os = "linux") {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let parts: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        return (!parts.is_empty()).then(|| parts.join(" "));
    }
    let out = std::process::Command::new("ps")
        .args(["-o", "command=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// True when `pid` exists and is not a zombie.
///
/// A zombie has exited; it only waits for its parent to reap it. On machines whose PID 1 does
/// not reap orphans zombies linger, so every "is it gone?" question must treat them as gone.
pub fn is_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    if cfg!(target_os = "linux") {
        return stat(pid).is_some_and(|s| !s.has_exited());
    }
    match kill(Pid::from_raw(pid as i32), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// The parent pid of `pid` (Linux only; `None` elsewhere or when unreadable).
pub fn parent_pid(pid: u32) -> Option<u32> {
    stat(pid).map(|s| s.ppid)
}

/// The scheduling facts of one process, from `/proc/<pid>/stat` (Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// The process id.
    pub pid: u32,
    /// State letter: `R`, `S`, `D`, `Z` (zombie), `X` (dead), …
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// Process group id.
    pub pgrp: u32,
    /// Start time in clock ticks after boot (field 22).
    pub start_ticks: u64,
}

impl ProcStat {
    /// True for a zombie or a dead entry: the process has exited.
    pub fn has_exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Reads `/proc/<pid>/stat` (Linux); `None` when the process is gone or unreadable.
pub fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
}

/// Parses a `/proc/<pid>/stat` line. The command name is parenthesised and may itself contain
/// spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat(pid: u32, text: &str) -> Option<ProcStat> {
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    Some(ProcStat {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Every pid visible in `/proc` (Linux; empty elsewhere).
pub fn all_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect()
}

/// Live (not exited) members of process group `pgid` (Linux; empty elsewhere).
pub fn group_members(pgid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter_map(stat)
        .filter(|s| s.pgrp == pgid && !s.has_exited())
        .map(|s| s.pid)
        .collect()
}

/// The value of `key` in the environment `pid` was started with (`/proc/<pid>/environ`, Linux),
/// when this user may read it.
pub fn environ_var(pid: u32, key: &str) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    find_env_value(&raw, key)
}

/// Finds `key=value` in a NUL-separated environment block.
fn find_env_value(raw: &[u8], key: &str) -> Option<String> {
    raw.split(|b| *b == 0).find_map(|entry| {
        let value = entry.strip_prefix(key.as_bytes())?.strip_prefix(b"=")?;
        Some(String::from_utf8_lossy(value).into_owned())
    })
}

/// The direct children of `pid` (every thread's `/proc/<pid>/task/<tid>/children`, Linux).
/// `None` when the kernel does not offer those files (`CONFIG_PROC_CHILDREN`) or `pid` is gone.
pub fn children(pid: u32) -> Option<Vec<u32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut found = Vec::new();
    let mut readable = false;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        readable = true;
        found.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    readable.then_some(found)
}

/// Every descendant of `pid` (children, their children, …), found through [`children`];
/// `None` where that is not available.
pub fn descendants(pid: u32) -> Option<Vec<u32>> {
    let mut found = Vec::new();
    let mut next = children(pid)?;
    while let Some(child) = next.pop() {
        if found.contains(&child) {
            continue;
        }
        found.push(child);
        next.extend(children(child).unwrap_or_default());
    }
    Some(found)
}

/// Sends `signal` to `pid` only if it is still the process that started at `start_ticks`
/// (field 22 of its stat): a pid recycled by another process is never hit. Through a pidfd
/// where the kernel has them (no window between the check and the signal), else check, then
/// `kill`. `ESRCH` when that process is gone.
pub fn signal_if_same(pid: u32, start_ticks: u64, signal: Signal) -> Result<(), nix::errno::Errno> {
    let same = || stat(pid).is_some_and(|s| s.start_ticks == start_ticks && !s.has_exited());
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd >= 0 {
            // SAFETY: `fd` was just returned by pidfd_open and is closed by OwnedFd only.
            let fd =
                unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
            if !same() {
                return Err(nix::errno::Errno::ESRCH);
            }
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo, no flags.
            let sent = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    raw,
                    signal as libc::c_int,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            return if sent == 0 {
                Ok(())
            } else {
                Err(nix::errno::Errno::last())
            };
        }
    }
    if !same() {
        return Err(nix::errno::Errno::ESRCH);
    }
    kill(Pid::from_raw(pid as i32), signal)
}

/// True when this process is a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`): orphaned
/// descendants are re-parented to it instead of to init.
pub fn is_child_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        let mut flag: libc::c_int = 0;
        // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through the pointer we pass.
        let ok =
            unsafe { libc::prctl(libc::PR_GET_CHILD_SUBREAPER, &mut flag as *mut libc::c_int) };
        ok == 0 && flag != 0
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// True while `pid` is alive and still the process that started at `start_ticks`.
pub fn is_same_alive(pid: u32, start_ticks: u64) -> bool {
    stat(pid).is_some_and(|s| s.start_ticks == start_ticks && !s.has_exited())
}

/// Sends `signal` to the process group `pgid`; if there is no such group, to the process itself.
///
/// Only for a `pgid` whose process is known to exist (not yet reaped): after the leader has been
/// waited for, its pid may be recycled, and the fallback would hit a stranger. Use
/// [`signal_group_only`] then. A `pgid` of 0 or 1 (our own group, init) is refused with `EINVAL`.
pub fn signal_group(pgid: u32, signal: Signal) -> Result<(), nix::errno::Errno> {
    let pid = group_pid(pgid)?;
    match killpg(pid, signal) {
        Err(nix::errno::Errno::ESRCH) => kill(pid, signal),
        other => other,
    }
}

/// Sends `signal` to the members of process group `pgid` and never to a lone process: safe to
/// call after the group's leader was reaped (a recycled pid leads no group of ours). `ESRCH`
/// when the group is empty; `EINVAL` for a `pgid` of 0 or 1.
pub fn signal_group_only(pgid: u32, signal: Signal) -> Result<(), nix::errno::Errno> {
    killpg(group_pid(pgid)?, signal)
}

/// `pgid` as a signal target, refusing values that would hit our own group (0), init (1) or
/// wrap negative.
fn group_pid(pgid: u32) -> Result<Pid, nix::errno::Errno> {
    match i32::try_from(pgid) {
        Ok(raw) if raw > 1 => Ok(Pid::from_raw(raw)),
        _ => Err(nix::errno::Errno::EINVAL),
    }
}

/// Sends `signal` to one process.
pub fn signal(pid: u32, signal: Signal) -> Result<(), nix::errno::Errno> {
    kill(Pid::from_raw(pid as i32), signal)
}

/// Polls until `pid` is gone (or a zombie) or `timeout` passes. Returns true when gone.
pub fn wait_gone(pid: u32, timeout: std::time::Duration) -> bool {
    crate::wait::poll_for(timeout, std::time::Duration::from_millis(50), || {
        !is_alive(pid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_parentheses_and_spaces_in_names() {
        let tail = format!("{}777 0", "0 ".repeat(15));
        let s = parse_stat(42, &format!("42 (a) b c) S 1 40 40 {tail}")).unwrap();
        assert_eq!((s.state, s.ppid, s.pgrp, s.start_ticks), ('S', 1, 40, 777));
        assert!(
            parse_stat(42, &format!("42 (x) Z 7 42 42 {tail}"))
                .unwrap()
                .has_exited()
        );
        assert!(parse_stat(42, "garbage").is_none());
    }

    #[test]
    fn a_child_in_its_own_group_is_listed_as_a_member() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(all_pids().contains(&pid));
        assert_eq!(stat(pid).unwrap().pgrp, pid);
        assert_eq!(group_members(pid), vec![pid]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(group_members(pid).is_empty());
    }

    #[test]
    fn group_signals_refuse_our_own_group_and_init() {
        for pgid in [0, 1, u32::MAX] {
            assert_eq!(
                signal_group(pgid, Signal::SIGCONT),
                Err(nix::errno::Errno::EINVAL)
            );
            assert_eq!(
                signal_group_only(pgid, Signal::SIGCONT),
                Err(nix::errno::Errno::EINVAL)
            );
        }
    }

    #[test]
    fn group_only_signal_never_falls_back_to_the_lone_process() {
        use std::os::unix::process::CommandExt;
        // A process that is not a group leader: its pid names no group.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert_ne!(stat(pid).unwrap().pgrp, pid);
        assert_eq!(
            signal_group_only(pid, Signal::SIGKILL),
            Err(nix::errno::Errno::ESRCH)
        );
        assert!(is_alive(pid), "the lone process must not be signalled");
        // The fallback of `signal_group` does reach it.
        signal_group(pid, Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        // And a group leader's group is signalled as a whole.
        let mut leader = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        signal_group_only(leader.id(), Signal::SIGKILL).unwrap();
        leader.wait().unwrap();
    }

    #[test]
    fn sees_itself_and_its_command_line() {
        let me = std::process::id();
        assert!(is_alive(me));
        assert!(command_line(me).is_some());
        assert!(!is_alive(0));
    }

    #[test]
    fn a_reaped_child_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_alive(pid));
    }
    #[test]
    fn reads_a_variable_from_another_process_environment() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("PARACHUTE_OS_TEST_VAR", "a=b:c")
            .spawn()
            .unwrap();
        let pid = child.id();
        // The environment is readable once the child has exec'd.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while command_line(pid).is_none_or(|c| !c.contains("sleep"))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(
            environ_var(pid, "PARACHUTE_OS_TEST_VAR").as_deref(),
            Some("a=b:c")
        );
        assert_eq!(environ_var(pid, "PARACHUTE_OS_TEST"), None);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(find_env_value(b"A=1\0AB=2\0B=\0", "B").as_deref(), Some(""));
        assert_eq!(find_env_value(b"A=1\0AB=2", "AB").as_deref(), Some("2"));
    }

    #[test]
    fn children_and_descendants_include_a_grandchild() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        let me = std::process::id();
        if let Some(kids) = children(me) {
            assert!(kids.contains(&child.id()), "{kids:?}");
            assert!(!kids.contains(&grandchild));
            let all = descendants(me).unwrap();
            assert!(
                all.contains(&child.id()) && all.contains(&grandchild),
                "{all:?}"
            );
        }
        signal(grandchild, Signal::SIGKILL).unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn signal_if_same_never_hits_another_start_time() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let start = stat(pid).unwrap().start_ticks;
        assert!(is_same_alive(pid, start));
        assert!(!is_same_alive(pid, start + 1));
        assert_eq!(
            signal_if_same(pid, start + 1, Signal::SIGKILL),
            Err(nix::errno::Errno::ESRCH)
        );
        assert!(
            is_alive(pid),
            "a different start time must not be signalled"
        );
        signal_if_same(pid, start, Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        assert!(!is_same_alive(pid, start));
        assert_eq!(
            signal_if_same(pid, start, Signal::SIGKILL),
            Err(nix::errno::Errno::ESRCH)
        );
    }
}
