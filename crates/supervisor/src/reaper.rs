//! Child subreaper: orphaned descendants of our modules are re-parented to the hub and reaped.
//!
//! When a module's grandchild outlives its parent it would normally be re-parented to PID 1,
//! which on some machines (containers, sandboxes) never reaps it. As a child subreaper the hub
//! adopts such orphans instead and reaps them here.
//!
//! Only adopted processes are reaped: zombies that are ours *and* sit outside the hub's own
//! process group. Every module runs in a group of its own, so its orphaned descendants do too;
//! commands the hub runs directly (`bun`, `npm`, `systemctl`, …) stay in the hub's group and
//! are waited on by whoever spawned them. Module leaders are direct children in groups of their
//! own: the supervisor lists each one as it is forked until its exit status is collected, and
//! the scan holds forks off (and that list locked), so a module that exits at once is never
//! reaped here (its exit code would be lost to the supervisor). `is_ours` can exclude further
//! pids.
//!
//! Nothing polls: the scan runs when the kernel says a child changed state (SIGCHLD, which it
//! also sends when an orphan is adopted already dead), and once at start. A scan lists only the
//! hub's own children (`/proc/self/task/*/children`), not every process on the machine, where
//! the kernel offers that list.

/// Makes this process a child subreaper (Linux) and starts a background task that reaps adopted
/// zombies whenever SIGCHLD arrives. Module leaders are always left alone (see the module
/// docs); `is_ours` can exclude further pids. Returns false where subreaping is not supported.
/// Must be called inside a tokio runtime.
pub fn become_subreaper(is_ours: impl Fn(u32) -> bool + Send + Sync + 'static) -> bool {
    #[cfg(target_os = "linux")]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // SAFETY: plain prctl call with integer arguments.
        let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
        if !ok {
            tracing::warn!(
                "could not become a child subreaper; orphaned module descendants go to init"
            );
            return false;
        }
        let mut child_changed = match signal(SignalKind::child()) {
            Ok(stream) => stream,
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGCHLD; adopted orphans stay zombies until the hub exits");
                return true;
            }
        };
        tokio::spawn(async move {
            // Anything adopted before we listened.
            reap_adopted_zombies(&is_ours);
            while child_changed.recv().await.is_some() {
                reap_adopted_zombies(&is_ours);
            }
        });
        true
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = is_ours;
        false
    }
}

#[cfg(target_os = "linux")]
fn reap_adopted_zombies(is_ours: &dyn Fn(u32) -> bool) {
    let me = std::process::id();
    // SAFETY: getpgrp has no preconditions.
    let my_group = unsafe { libc::getpgrp() } as u32;
    // Held for the whole scan: no module is forked (and so none can be missing from the list)
    // while we decide what to reap.
    let _no_forks = crate::spawn::quiesce_forks();
    let modules = crate::spawn::direct_children();
    let candidates =
        parachute_os::process::children(me).unwrap_or_else(parachute_os::process::all_pids);
    let adopted = candidates
        .into_iter()
        .filter_map(parachute_os::process::stat)
        .filter(|s| {
            s.state == 'Z'
                && s.ppid == me
                && s.pgrp != my_group
                && !modules.contains(&s.pid)
                && !is_ours(s.pid)
        });
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::time::Duration;

    /// Spawns `true` in a group of its own (like a module's orphan) and waits until it is a
    /// zombie.
    fn zombie_in_own_group() -> u32 {
        let child = std::process::Command::new("true")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        drop(child); // std never waits on drop: it stays a zombie until someone reaps it.
        while parachute_os::process::stat(pid).is_some_and(|s| s.state != 'Z') {
            std::thread::sleep(Duration::from_millis(10));
        }
        pid
    }

    #[test]
    fn reaps_zombies_outside_our_group_but_never_a_listed_module() {
        let orphan = zombie_in_own_group();
        let module = zombie_in_own_group();
        crate::spawn::direct_children().push(module);

        reap_adopted_zombies(&|_| false);
        assert!(
            parachute_os::process::stat(orphan).is_none(),
            "an adopted zombie is reaped"
        );
        assert_eq!(
            parachute_os::process::stat(module).map(|s| s.state),
            Some('Z'),
            "a module leader is left for the supervisor to wait for"
        );

        reap_adopted_zombies(&|pid| pid == module);
        assert!(
            parachute_os::process::stat(module).is_some(),
            "is_ours excludes too"
        );

        crate::spawn::forget_child(module);
        reap_adopted_zombies(&|_| false);
        assert!(parachute_os::process::stat(module).is_none());
    }
}
