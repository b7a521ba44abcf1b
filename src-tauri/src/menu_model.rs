//! The tray menu as plain data, computed from the hub's state alone ([`menu_model`]).
//!
//! No Tauri type appears here: the menu is tested without a display, and [`crate::tray`]
//! turns a [`MenuModel`] into native items. Every clickable entry carries an [`Action`];
//! its id (`Action::id`) is what the native item reports back, parsed with [`Action::parse`].

use parachute_protocol::{ExposureLayer, HubSnapshot, ModuleState, ModuleStatus};

/// The tray icon's three looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The hub answers and every module runs.
    Healthy,
    /// The hub answers but a module is crashed, restarting or starting, or boot is not done.
    Degraded,
    /// No hub.
    Down,
}

/// The exposure choices, in menu order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExposeChoice {
    /// Nothing exposed.
    Off,
    /// `tailscale serve` on the tailnet.
    Tailnet,
    /// Tailscale Funnel.
    Public,
    /// A Cloudflare named tunnel (hostname asked in the window).
    Cloudflare,
}

impl ExposeChoice {
    /// Every choice, in menu order.
    pub const ALL: [ExposeChoice; 4] = [Self::Off, Self::Tailnet, Self::Public, Self::Cloudflare];

    fn word(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Tailnet => "tailnet",
            Self::Public => "public",
            Self::Cloudflare => "cloudflare",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Off => "Off",
            Self::Tailnet => "Tailnet",
            Self::Public => "Public (Funnel)",
            Self::Cloudflare => "Cloudflare…",
        }
    }

    /// The choice that describes a recorded layer.
    pub fn of(layer: Option<ExposureLayer>) -> Self {
        match layer {
            None => Self::Off,
            Some(ExposureLayer::Tailnet) => Self::Tailnet,
            Some(ExposureLayer::Funnel) => Self::Public,
            Some(ExposureLayer::Cloudflare) => Self::Cloudflare,
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.word() == word)
    }
}

/// A module operation from the Modules submenu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleOp {
    /// Start it.
    Start,
    /// Stop it.
    Stop,
    /// Restart it (or start it when it is not running).
    Restart,
}

impl ModuleOp {
    fn word(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
        }
    }
}

/// What a click asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Switch exposure.
    Expose(ExposeChoice),
    /// Start, stop or restart one module.
    Module(String, ModuleOp),
    /// Show the settings window.
    OpenDashboard,
    /// Open `$PARACHUTE_HOME` logs in the file manager.
    OpenLogs,
    /// Toggle the login item.
    StartAtLogin,
    /// Ask the release feed now.
    CheckForUpdates,
    /// Install the offered version.
    Upgrade,
    /// Stop the modules this app supervises and exit.
    Quit,
}

impl Action {
    /// The id of the native item.
    pub fn id(&self) -> String {
        match self {
            Self::Expose(c) => format!("expose:{}", c.word()),
            Self::Module(short, op) => format!("module:{}:{short}", op.word()),
            Self::OpenDashboard => "open-dashboard".into(),
            Self::OpenLogs => "open-logs".into(),
            Self::StartAtLogin => "start-at-login".into(),
            Self::CheckForUpdates => "check-updates".into(),
            Self::Upgrade => "upgrade".into(),
            Self::Quit => "quit".into(),
        }
    }

    /// The action an item id stands for.
    pub fn parse(id: &str) -> Option<Self> {
        if let Some(word) = id.strip_prefix("expose:") {
            return ExposeChoice::parse(word).map(Self::Expose);
        }
        if let Some(rest) = id.strip_prefix("module:") {
            let (op, short) = rest.split_once(':')?;
            let op = [ModuleOp::Start, ModuleOp::Stop, ModuleOp::Restart]
                .into_iter()
                .find(|o| o.word() == op)?;
            return (!short.is_empty()).then(|| Self::Module(short.to_string(), op));
        }
        Some(match id {
            "open-dashboard" => Self::OpenDashboard,
            "open-logs" => Self::OpenLogs,
            "start-at-login" => Self::StartAtLogin,
            "check-updates" => Self::CheckForUpdates,
            "upgrade" => Self::Upgrade,
            "quit" => Self::Quit,
            _ => return None,
        })
    }
}

/// One menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Text that does nothing (the status line).
    Label(String),
    /// A clickable item.
    Item {
        /// What it says.
        text: String,
        /// What it does.
        action: Action,
        /// Whether it can be clicked now.
        enabled: bool,
    },
    /// A checkbox (a radio group is a run of these with one checked).
    Check {
        /// What it says.
        text: String,
        /// What it does.
        action: Action,
        /// Ticked or not.
        checked: bool,
        /// Whether it can be clicked now.
        enabled: bool,
    },
    /// A nested menu.
    Submenu {
        /// Its title.
        text: String,
        /// Its entries.
        entries: Vec<Entry>,
    },
    /// A line between groups.
    Separator,
}

/// The whole tray: icon, tooltip, entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuModel {
    /// Which icon.
    pub health: Health,
    /// The status line, also the tooltip.
    pub status: String,
    /// The entries, top to bottom.
    pub entries: Vec<Entry>,
}

/// What the menu is computed from.
#[derive(Debug, Clone, Default)]
pub struct MenuInput {
    /// The hub's state; `None` while no hub answers.
    pub snapshot: Option<HubSnapshot>,
    /// Whether the app is registered to start at login.
    pub start_at_login: bool,
    /// An upgrade is running (its item is disabled meanwhile).
    pub upgrading: bool,
    /// An exposure change is running (the radio group is disabled meanwhile).
    pub exposing: bool,
}

/// The tray menu for `input`.
pub fn menu_model(input: &MenuInput) -> MenuModel {
    let (health, status) = status_line(input.snapshot.as_ref());
    let up = input.snapshot.is_some();
    let mut entries = vec![Entry::Label(status.clone()), Entry::Separator];
    let current = ExposeChoice::of(input.snapshot.as_ref().and_then(|s| s.exposure.layer));
    entries.push(Entry::Submenu {
        text: format!("Exposure: {}", current.label().trim_end_matches('…')),
        entries: ExposeChoice::ALL
            .into_iter()
            .map(|c| Entry::Check {
                text: c.label().into(),
                action: Action::Expose(c),
                checked: c == current,
                enabled: up && !input.exposing,
            })
            .collect(),
    });
    entries.push(modules_submenu(input.snapshot.as_ref()));
    entries.push(Entry::Separator);
    entries.push(item("Open dashboard", Action::OpenDashboard, up));
    entries.push(item("Open logs folder", Action::OpenLogs, true));
    entries.push(Entry::Check {
        text: "Start at login".into(),
        action: Action::StartAtLogin,
        checked: input.start_at_login,
        enabled: true,
    });
    entries.push(update_item(input));
    entries.push(Entry::Separator);
    entries.push(item("Quit Parachute", Action::Quit, true));
    MenuModel {
        health,
        status,
        entries,
    }
}

fn item(text: &str, action: Action, enabled: bool) -> Entry {
    Entry::Item {
        text: text.into(),
        action,
        enabled,
    }
}

fn status_line(snapshot: Option<&HubSnapshot>) -> (Health, String) {
    let Some(s) = snapshot else {
        return (Health::Down, "Parachute: hub not running".into());
    };
    let total = s.modules.len();
    let running = s
        .modules
        .iter()
        .filter(|m| m.status == ModuleStatus::Running)
        .count();
    let crashed = s
        .modules
        .iter()
        .filter(|m| m.status == ModuleStatus::Crashed)
        .count();
    if !s.boot.finished {
        let text = format!("Parachute: starting ({}/{})", s.boot.done, s.boot.total);
        return (Health::Degraded, text);
    }
    if crashed > 0 {
        let text = format!("Parachute: {crashed} module(s) crashed, {running}/{total} running");
        return (Health::Degraded, text);
    }
    if running < total {
        return (
            Health::Degraded,
            format!("Parachute: {running}/{total} modules running"),
        );
    }
    (
        Health::Healthy,
        format!("Parachute: running, {total} module(s)"),
    )
}

fn modules_submenu(snapshot: Option<&HubSnapshot>) -> Entry {
    let modules = snapshot.map(|s| s.modules.as_slice()).unwrap_or_default();
    let entries = if modules.is_empty() {
        vec![Entry::Label("No modules".into())]
    } else {
        modules.iter().map(module_entry).collect()
    };
    Entry::Submenu {
        text: "Modules".into(),
        entries,
    }
}

fn module_entry(m: &ModuleState) -> Entry {
    let running = matches!(
        m.status,
        ModuleStatus::Running | ModuleStatus::Starting | ModuleStatus::Restarting
    );
    let op = |text: &str, op: ModuleOp, enabled: bool| {
        item(text, Action::Module(m.short.clone(), op), enabled)
    };
    Entry::Submenu {
        text: format!("{} — {}", m.short, m.status.as_str()),
        entries: vec![
            op("Start", ModuleOp::Start, !running),
            op("Stop", ModuleOp::Stop, running),
            op("Restart", ModuleOp::Restart, true),
        ],
    }
}

fn update_item(input: &MenuInput) -> Entry {
    let offered = input
        .snapshot
        .as_ref()
        .and_then(|s| s.hub.update.as_ref())
        .filter(|u| u.available)
        .and_then(|u| u.version.clone());
    match offered {
        Some(version) => item(
            &format!("Upgrade to {version}"),
            Action::Upgrade,
            !input.upgrading,
        ),
        None => item(
            "Check for updates",
            Action::CheckForUpdates,
            input.snapshot.is_some() && !input.upgrading,
        ),
    }
}

#[cfg(test)]
#[path = "menu_model_tests.rs"]
mod tests;
