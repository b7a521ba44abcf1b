//! `parachute serve`.

use parachute_hub::ServeConfig;

/// Runs the hub in the foreground until SIGTERM/SIGINT. Exit 0 on a clean stop.
pub fn run() -> i32 {
    let config = match ServeConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("parachute serve: {err}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("parachute serve: cannot start the async runtime: {err}");
            return 1;
        }
    };
    let code = match runtime.block_on(parachute_hub::serve(config)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("parachute serve: {err}");
            1
        }
    };
    // A blocking job still running (a hung `bun add -g`, say) must not keep a stopped hub
    // alive: give such jobs a moment, then exit regardless.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    code
}
