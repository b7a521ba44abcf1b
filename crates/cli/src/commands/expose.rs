//! `parachute expose tailnet|public|cloudflare [off]`: a thin layer over
//! [`parachute_expose::Exposure`]. Flags become a target, lines are printed as the library
//! produces them, errors print with `✗` and exit 1.
//!
//! Routing (`cloudflare` is `public --cloudflare`):
//! - `tailnet [off]` → the tailnet layer;
//! - `public --tailnet [off]`, `public --skip-provider-check` → Tailscale Funnel;
//! - `public --cloudflare --domain <host> [--tunnel-name <n>]` / `… off` → a Cloudflare tunnel
//!   (off: the named tunnel, else every recorded one);
//! - `public` → the only ready provider (asks on a terminal when both are ready);
//! - `public off` → whatever public exposure is live (both when both are).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use parachute_expose::{
    CloudflareTarget, ExposeConfig, ExposeError, Exposure, Line, OffTarget, Target, UpOptions,
};

use crate::args::{ExposeArgs, ExposeLayer};
use crate::commands::hub_access;

/// What the flags ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    /// Bring a known target up.
    Up(Target),
    /// `expose public` without a provider flag: pick one.
    UpPick,
    /// Take something down.
    Off(OffTarget),
}

/// Runs the verb; returns the exit code.
pub fn run(args: &ExposeArgs) -> i32 {
    let request = match parse(args) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("parachute expose: {message}");
            return 1;
        }
    };
    let exposure = match build() {
        Ok(e) => e,
        Err(message) => {
            eprintln!("parachute expose: {message}");
            return 1;
        }
    };
    let result = match request {
        Request::Up(target) => up(&exposure, &target, args),
        Request::UpPick => pick(&exposure, args).and_then(|t| up(&exposure, &t, args)),
        Request::Off(target) => exposure.off(&target).map(|_| ()),
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("✗ {err}");
            1
        }
    }
}

/// Flags → request; a message for combinations that make no sense.
fn parse(args: &ExposeArgs) -> Result<Request, String> {
    let off = args.off.is_some();
    let cloudflare = args.cloudflare || args.layer == ExposeLayer::Cloudflare;
    if args.tailnet && args.layer != ExposeLayer::Public {
        return Err(
            "--tailnet chooses Tailscale Funnel for the public layer; it does not apply here. Use `parachute expose tailnet` for the tailnet."
                .into(),
        );
    }
    if cloudflare && args.layer == ExposeLayer::Tailnet {
        return Err(
            "--cloudflare only applies to the public layer: use `parachute expose cloudflare --domain <hostname>`."
                .into(),
        );
    }
    if !cloudflare && (args.domain.is_some() || args.tunnel_name.is_some()) && args.tailnet {
        return Err("--domain and --tunnel-name are for Cloudflare tunnels, not Funnel.".into());
    }
    if cloudflare {
        if off {
            return Ok(Request::Off(OffTarget::Cloudflare {
                tunnel_name: args.tunnel_name.clone(),
            }));
        }
        let domain = match &args.domain {
            Some(d) => d.clone(),
            None if interactive() => ask("Public hostname for the tunnel (e.g. hub.example.com): ")
                .ok_or_else(|| ExposeError::DomainRequired.to_string())?,
            None => return Err(ExposeError::DomainRequired.to_string()),
        };
        let target = CloudflareTarget::new(&domain, args.tunnel_name.as_deref())
            .map_err(|e| e.to_string())?;
        return Ok(Request::Up(Target::Cloudflare(target)));
    }
    Ok(match (args.layer, off) {
        (ExposeLayer::Tailnet, false) => Request::Up(Target::Tailnet),
        (ExposeLayer::Tailnet, true) => Request::Off(OffTarget::Tailnet),
        (_, true) if args.tailnet => Request::Off(OffTarget::Funnel),
        (_, true) => Request::Off(OffTarget::AnyPublic),
        (_, false) if args.tailnet || args.skip_provider_check => Request::Up(Target::Funnel),
        (_, false) => Request::UpPick,
    })
}

/// The exposure manager for this user, printing lines as they come.
fn build() -> Result<Exposure, String> {
    let home = hub_access::home()?;
    let units = hub_access::unit_manager()?;
    let mut config = ExposeConfig::for_user_home(&units.env().home_dir);
    config.progress = Some(Arc::new(|line: &Line| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line.render());
        let _ = out.flush();
    }));
    Ok(Exposure::new(
        home,
        Arc::new(parachute_os::SystemRunner::from_env()),
        units,
        config,
    ))
}

fn up(exposure: &Exposure, target: &Target, args: &ExposeArgs) -> Result<(), ExposeError> {
    let options = UpOptions {
        hub_origin: args.hub_origin.clone(),
    };
    let report = exposure.up(target, &options)?;
    if matches!(target, Target::Funnel | Target::Cloudflare(_))
        && let Ok(home) = hub_access::home()
    {
        for line in super::public_2fa::lines(&home, &report.url) {
            println!("{line}");
        }
    }
    Ok(())
}

/// `expose public` without a provider: the only ready one; on a terminal, a choice when both
/// are ready.
fn pick(exposure: &Exposure, args: &ExposeArgs) -> Result<Target, ExposeError> {
    match exposure.pick_public(args.domain.as_deref(), args.tunnel_name.as_deref()) {
        Ok((target, why)) => {
            println!("{why}");
            Ok(target)
        }
        Err(ExposeError::AmbiguousProvider) if interactive() => {
            println!("Both Tailscale Funnel and a Cloudflare tunnel are set up here.");
            println!("  1) Tailscale Funnel (a *.ts.net address)");
            println!("  2) Cloudflare tunnel (your own domain)");
            match ask("Which one? [1/2]: ").as_deref() {
                Some("1") => Ok(Target::Funnel),
                Some("2") => {
                    let domain = match &args.domain {
                        Some(d) => d.clone(),
                        None => ask("Public hostname (e.g. hub.example.com): ")
                            .ok_or(ExposeError::DomainRequired)?,
                    };
                    Ok(Target::Cloudflare(CloudflareTarget::new(
                        &domain,
                        args.tunnel_name.as_deref(),
                    )?))
                }
                _ => Err(ExposeError::AmbiguousProvider),
            }
        }
        Err(ExposeError::DomainRequired) if interactive() => {
            let domain = ask(
                "Cloudflare is the provider set up here. Public hostname (e.g. hub.example.com): ",
            )
            .ok_or(ExposeError::DomainRequired)?;
            Ok(Target::Cloudflare(CloudflareTarget::new(
                &domain,
                args.tunnel_name.as_deref(),
            )?))
        }
        Err(e) => Err(e),
    }
}

/// Both stdin and stdout are terminals.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Asks a question on the terminal; `None` for an empty answer or end of input.
fn ask(question: &str) -> Option<String> {
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    let answer = answer.trim().to_string();
    (!answer.is_empty()).then_some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(layer: ExposeLayer, off: bool) -> ExposeArgs {
        ExposeArgs {
            layer,
            off: off.then(|| "off".to_string()),
            hub_origin: None,
            cloudflare: false,
            tailnet: false,
            skip_provider_check: false,
            domain: None,
            tunnel_name: None,
        }
    }

    #[test]
    fn flags_route_to_targets() {
        assert_eq!(
            parse(&args(ExposeLayer::Tailnet, false)).unwrap(),
            Request::Up(Target::Tailnet)
        );
        assert_eq!(
            parse(&args(ExposeLayer::Tailnet, true)).unwrap(),
            Request::Off(OffTarget::Tailnet)
        );
        assert_eq!(
            parse(&args(ExposeLayer::Public, true)).unwrap(),
            Request::Off(OffTarget::AnyPublic)
        );
        let mut a = args(ExposeLayer::Public, false);
        a.tailnet = true;
        assert_eq!(parse(&a).unwrap(), Request::Up(Target::Funnel));
        a.off = Some("off".into());
        assert_eq!(parse(&a).unwrap(), Request::Off(OffTarget::Funnel));
        let mut a = args(ExposeLayer::Public, false);
        a.skip_provider_check = true;
        assert_eq!(parse(&a).unwrap(), Request::Up(Target::Funnel));
        let mut a = args(ExposeLayer::Cloudflare, false);
        a.domain = Some("hub.example.com".into());
        let Request::Up(Target::Cloudflare(t)) = parse(&a).unwrap() else {
            panic!("cloudflare target expected");
        };
        assert_eq!(t.tunnel_name(), "parachute-hub-example-com");
        a.off = Some("off".into());
        a.tunnel_name = Some("mine".into());
        assert_eq!(
            parse(&a).unwrap(),
            Request::Off(OffTarget::Cloudflare {
                tunnel_name: Some("mine".into())
            })
        );
    }

    #[test]
    fn nonsense_combinations_are_refused() {
        let mut a = args(ExposeLayer::Tailnet, false);
        a.tailnet = true;
        assert!(parse(&a).unwrap_err().contains("does not apply"));
        let mut a = args(ExposeLayer::Tailnet, false);
        a.cloudflare = true;
        assert!(
            parse(&a)
                .unwrap_err()
                .contains("only applies to the public layer")
        );
        let mut a = args(ExposeLayer::Cloudflare, false);
        a.domain = Some("not a host".into());
        assert!(parse(&a).unwrap_err().contains("not a valid hostname"));
    }
}
