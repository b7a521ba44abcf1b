//! `parachute migrate`: the archive sweep (`[--list|--dry-run] [--yes]`), the cutover to the
//! supervised hub (`--to-supervised`) and its undo (`--teardown`). The hub port is `PORT` when
//! set, else 1939.

use std::sync::Arc;
use std::time::SystemTime;

use parachute_migrate::{
    MigrateEnv, Prompt, SweepMode, SweepRequest, cut_over, run_sweep, teardown,
};
use parachute_os::{CommandRunner, SystemRunner};

use crate::args::MigrateArgs;
use crate::commands::terminal::Terminal;

/// Runs `migrate`; returns the exit code.
pub fn run(args: &MigrateArgs) -> i32 {
    let runner: Arc<dyn CommandRunner> = Arc::new(SystemRunner::from_env());
    let env = match MigrateEnv::from_process(runner) {
        Ok(env) => env,
        Err(e) => {
            eprintln!("parachute migrate: {e}");
            return 1;
        }
    };
    let mut io = Terminal;
    if args.teardown {
        return teardown(&env, &mut io).exit_code();
    }
    if args.to_supervised {
        let report = cut_over(&env, &mut io);
        for line in &report.messages {
            if report.outcome.succeeded() {
                io.say(line);
            } else {
                eprintln!("{line}");
            }
        }
        return report.exit_code();
    }
    let mode = if args.list {
        SweepMode::List
    } else if args.dry_run {
        SweepMode::DryRun
    } else {
        SweepMode::Apply
    };
    let request = SweepRequest {
        mode,
        yes: args.yes,
    };
    run_sweep(&env, request, SystemTime::now(), &mut io).exit_code()
}
