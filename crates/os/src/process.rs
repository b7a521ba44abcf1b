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
        return match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => process_state(&stat).is_some_and(|state| state != 'Z' && state != 'X'),
            Err(_) => false,
        };
    }
    match kill(Pid::from_raw(pid as i32), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// The state letter from a `/proc/<pid>/stat` line (the field after the parenthesised name).
fn process_state(stat: &str) -> Option<char> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.trim_start().chars().next()
}

/// The parent pid of `pid` (Linux only; `None` elsewhere or when unreadable).
pub fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `signal` to the process group `pgid`; if there is no such group, to the process itself.
pub fn signal_group(pgid: u32, signal: Signal) -> Result<(), nix::errno::Errno> {
    let pid = Pid::from_raw(pgid as i32);
    match killpg(pid, signal) {
        Err(nix::errno::Errno::ESRCH) => kill(pid, signal),
        other => other,
    }
}

/// Sends `signal` to one process.
pub fn signal(pid: u32, signal: Signal) -> Result<(), nix::errno::Errno> {
    kill(Pid::from_raw(pid as i32), signal)
}

/// Polls until `pid` is gone (or a zombie) or `timeout` passes. Returns true when gone.
pub fn wait_gone(pid: u32, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if !is_alive(pid) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_letter_survives_parentheses_in_names() {
        assert_eq!(process_state("42 (a) b) S 1 42 42"), Some('S'));
        assert_eq!(process_state("42 (x) Z 1 42 42"), Some('Z'));
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
}
