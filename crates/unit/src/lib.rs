//! Managed units: the hub under launchd or systemd, ensure-hub-up, and the desktop login item.
