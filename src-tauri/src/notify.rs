//! Desktop notifications for the hub events a person should hear about even with the window
//! closed: a module giving up after its crash loop, exposure changing, an upgrade finishing or
//! rolling back. [`notice_for`] decides (pure, tested); [`send`] shows it through the desktop's
//! notification service (`org.freedesktop.Notifications` on Linux).

use parachute_protocol::{ExposureLayer, HubEvent, UpgradePhase};

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The title line.
    pub summary: String,
    /// The text.
    pub body: String,
}

/// Remembers what was last said, so a repeated event does not notify twice.
#[derive(Debug, Default)]
pub struct Notifier {
    /// The exposure layer last seen (`None`: off); the first observation only records it.
    last_layer: Option<Option<ExposureLayer>>,
    /// The upgrade operation whose end was already announced.
    announced_upgrade: Option<String>,
}

impl Notifier {
    /// A notifier that has seen nothing yet; `layer` is the exposure at start.
    pub fn new(layer: Option<ExposureLayer>) -> Self {
        Self {
            last_layer: Some(layer),
            announced_upgrade: None,
        }
    }

    /// The notification `event` deserves, if any.
    pub fn notice_for(&mut self, event: &HubEvent) -> Option<Notice> {
        match event {
            HubEvent::CrashLoop { short, reason, .. } => Some(Notice {
                summary: format!("{short} keeps crashing"),
                body: format!(
                    "Parachute stopped restarting {short}: {}. Start it again from the tray's Modules menu once it is fixed.",
                    first_sentence(reason)
                ),
            }),
            HubEvent::ExposureChanged { exposure } => {
                let before = self.last_layer.replace(exposure.layer);
                if before == Some(exposure.layer) {
                    return None;
                }
                let body = match (exposure.layer, &exposure.url) {
                    (None, _) => "The hub is reachable from this computer only.".to_string(),
                    (Some(layer), Some(url)) => format!("{} at {url}", layer_text(layer)),
                    (Some(layer), None) => layer_text(layer).to_string(),
                };
                Some(Notice {
                    summary: "Exposure changed".into(),
                    body,
                })
            }
            HubEvent::HubUpgrade { upgrade } => {
                let text = match upgrade.phase {
                    UpgradePhase::Succeeded => "Parachute was upgraded",
                    UpgradePhase::RolledBack => "The upgrade was rolled back",
                    UpgradePhase::Failed => "The upgrade failed",
                    _ => return None,
                };
                if self.announced_upgrade.as_deref() == Some(upgrade.operation_id.as_str()) {
                    return None;
                }
                self.announced_upgrade = Some(upgrade.operation_id.clone());
                let target = upgrade
                    .target_version
                    .as_deref()
                    .unwrap_or("the new version");
                let body = match (&upgrade.phase, &upgrade.message) {
                    (UpgradePhase::Succeeded, _) => format!("Now running {target}."),
                    (_, Some(why)) => format!("Still running {}: {why}", upgrade.current_version),
                    (_, None) => format!("Still running {}.", upgrade.current_version),
                };
                Some(Notice {
                    summary: text.into(),
                    body,
                })
            }
            _ => None,
        }
    }
}

/// The reason without the module's last output lines (the log has those).
fn first_sentence(reason: &str) -> &str {
    let line = reason.lines().next().unwrap_or_default();
    let line = line.split(". Last output:").next().unwrap_or(line);
    line.trim_end_matches(['.', ' ', ':'])
}

fn layer_text(layer: ExposureLayer) -> &'static str {
    match layer {
        ExposureLayer::Tailnet => "The hub is on your tailnet",
        ExposureLayer::Funnel => "The hub is public through Tailscale Funnel",
        ExposureLayer::Cloudflare => "The hub is public through a Cloudflare tunnel",
    }
}

/// Shows `notice`; a desktop without a notification service only gets a log line.
pub fn send(notice: &Notice) {
    let shown = notify_rust::Notification::new()
        .appname("Parachute")
        .summary(&notice.summary)
        .body(&notice.body)
        .icon("parachute-desktop")
        .show();
    if let Err(err) = shown {
        tracing::warn!(%err, summary = %notice.summary, "cannot show a notification");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: serde_json::Value) -> HubEvent {
        serde_json::from_value(v).unwrap()
    }

    fn exposure(layer: Option<&str>) -> HubEvent {
        event(json!({"type": "exposure_changed", "exposure": {
            "layer": layer, "url": layer.map(|_| "https://box.tail.ts.net"),
            "hub_origin": null, "tunnels": [], "problem": null}}))
    }

    #[test]
    fn a_crash_loop_names_the_module() {
        let mut n = Notifier::new(None);
        let notice = n
            .notice_for(&event(
                json!({"type": "crash_loop", "short": "vault", "reason": "exit code 3"}),
            ))
            .unwrap();
        assert_eq!(notice.summary, "vault keeps crashing");
        assert!(notice.body.contains("exit code 3"));
    }

    #[test]
    fn exposure_notifies_on_change_only() {
        let mut n = Notifier::new(None);
        assert_eq!(n.notice_for(&exposure(None)), None);
        let up = n.notice_for(&exposure(Some("tailnet"))).unwrap();
        assert_eq!(
            up.body,
            "The hub is on your tailnet at https://box.tail.ts.net"
        );
        assert_eq!(n.notice_for(&exposure(Some("tailnet"))), None);
        let off = n.notice_for(&exposure(None)).unwrap();
        assert!(off.body.contains("this computer only"));
    }

    #[test]
    fn an_upgrade_end_is_announced_once() {
        let mut n = Notifier::new(None);
        let ev = |phase: &str| {
            event(json!({"type": "hub_upgrade", "upgrade": {
                "operation_id": "op1", "phase": phase, "current_version": "0.1.0",
                "target_version": "0.2.0", "bytes_done": 0, "bytes_total": 0,
                "message": "the new hub did not answer"}}))
        };
        assert_eq!(n.notice_for(&ev("downloading")), None);
        let back = n.notice_for(&ev("rolled-back")).unwrap();
        assert_eq!(back.summary, "The upgrade was rolled back");
        assert!(back.body.contains("0.1.0") && back.body.contains("did not answer"));
        assert_eq!(n.notice_for(&ev("rolled-back")), None);
        let mut n = Notifier::new(None);
        assert_eq!(
            n.notice_for(&ev("succeeded")).unwrap().body,
            "Now running 0.2.0."
        );
    }
}
