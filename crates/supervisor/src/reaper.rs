//! Child subreaper: orphaned descendants of our modules are re-parented to the hub and reaped.
//!
//! When a module's grandchild outlives its parent it would normally be re-parented to PID 1,
//! which on some machines (containers, sandboxes) never reaps it. As a child subreaper the hub
//! adopts such orphans instead and reaps them here.
//!
//! Only adopted processes are reaped: zombies that are ours *and* sit outside the hub's own
//! process group. Every module runs in a group of its own, so its orphaned descendants do too;
//! commands the hub runs directly (`bun`, `npm`, `systemctl`, …) stay in the hub's group and
//! are waited on by whoever spawned them, and module leaders are excluded by `is_ours`.

use std::time::Duration;

/// Makes this process a child subreaper (Linux) and starts a background task that reaps adopted
/// zombies every `interval`. `is_ours` tells the direct children (spawned by the supervisor)
/// apart: those are never reaped here. Returns false where subreaping is not supported.
pub fn become_subreaper(
    interval: Duration,
    is_ours: impl Fn(u32) -> bool + Send + Sync + 'static,
) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain prctl call with integer arguments.
        let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
        if !ok {
            tracing::warn!(
                "could not become a child subreaper; orphaned module descendants go to init"
            );
            return false;
        }
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                reap_adopted_zombies(&is_ours);
            }
        });
        true
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (interval, is_ours);
        false
    }
}

#[cfg(target_os = "linux")]
fn reap_adopted_zombies(is_ours: &dyn Fn(u32) -> bool) {
    let me = std::process::id();
    // SAFETY: getpgrp has no preconditions.
    let my_group = unsafe { libc::getpgrp() } as u32;
    let adopted = parachute_os::process::all_pids()
        .into_iter()
        .filter_map(parachute_os::process::stat)
        .filter(|s| s.state == 'Z' && s.ppid == me && s.pgrp != my_group && !is_ours(s.pid));
    for zombie in adopted {
        // SAFETY: waitpid on one specific zombie child of ours, non-blocking.
        unsafe {
            libc::waitpid(
                zombie.pid as libc::pid_t,
                std::ptr::null_mut(),
                libc::WNOHANG,
            );
        }
    }
}
