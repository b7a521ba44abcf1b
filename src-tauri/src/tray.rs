//! The native tray: [`crate::menu_model::MenuModel`] turned into Tauri menu items, rebuilt
//! whenever the hub reports a change ([`refresh`]). On Linux a menu is always set, since
//! left clicks do not reach the app on every desktop.

use std::sync::Arc;

use tauri::image::Image;
use tauri::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuItem, MenuItemKind, PredefinedMenuItem, Submenu,
};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::actions::Desk;
use crate::menu_model::{Entry, Health, MenuInput, MenuModel, menu_model};

/// The tray icon's id.
pub const TRAY_ID: &str = "parachute";

fn icon(health: Health) -> tauri::Result<Image<'static>> {
    let bytes: &[u8] = match health {
        Health::Healthy => include_bytes!("../icons/tray-healthy.png"),
        Health::Degraded => include_bytes!("../icons/tray-degraded.png"),
        Health::Down => include_bytes!("../icons/tray-down.png"),
    };
    Image::from_bytes(bytes)
}

/// The model for the app's current state.
pub fn current_model(desk: &Desk) -> MenuModel {
    let mut input: MenuInput = desk.flags.lock().map(|f| f.clone()).unwrap_or_default();
    input.snapshot = desk.host().ok().and_then(|h| h.snapshot());
    menu_model(&input)
}

/// Creates the tray icon with the menu for the current state.
pub fn create<R: Runtime>(app: &AppHandle<R>, desk: &Desk) -> tauri::Result<()> {
    let model = current_model(desk);
    let menu = build_menu(app, &model)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(model.health)?)
        .tooltip(&model.status)
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| crate::app::on_menu(app, event.id.as_ref()))
        .build(app)?;
    Ok(())
}

/// Rebuilds the menu and icon from the current state. Safe from any thread; the hub snapshot
/// is taken on the caller's thread, the native update on the UI thread.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let desk: Arc<Desk> = app.state::<Arc<Desk>>().inner().clone();
    let model = current_model(&desk);
    let handle = app.clone();
    let applied = app.run_on_main_thread(move || {
        if let Err(err) = apply(&handle, &model) {
            tracing::warn!(%err, "cannot update the tray menu");
        }
    });
    if let Err(err) = applied {
        tracing::warn!(%err, "cannot reach the UI thread to update the tray");
    }
}

fn apply<R: Runtime>(app: &AppHandle<R>, model: &MenuModel) -> tauri::Result<()> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return Ok(());
    };
    tray.set_menu(Some(build_menu(app, model)?))?;
    tray.set_icon(Some(icon(model.health)?))?;
    tray.set_tooltip(Some(&model.status))?;
    Ok(())
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, model: &MenuModel) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    let mut counter = 0;
    for entry in &model.entries {
        menu.append(&native(app, entry, &mut counter)?)?;
    }
    Ok(menu)
}

fn native<R: Runtime>(
    app: &AppHandle<R>,
    entry: &Entry,
    counter: &mut u32,
) -> tauri::Result<MenuItemKind<R>> {
    *counter += 1;
    Ok(match entry {
        Entry::Label(text) => {
            MenuItem::with_id(app, format!("label-{counter}"), text, false, None::<&str>)?.kind()
        }
        Entry::Item {
            text,
            action,
            enabled,
        } => MenuItem::with_id(app, action.id(), text, *enabled, None::<&str>)?.kind(),
        Entry::Check {
            text,
            action,
            checked,
            enabled,
        } => {
            CheckMenuItem::with_id(app, action.id(), text, *enabled, *checked, None::<&str>)?.kind()
        }
        Entry::Submenu { text, entries } => {
            let sub = Submenu::with_id(app, format!("submenu-{counter}"), text, true)?;
            for child in entries {
                sub.append(&native(app, child, counter)?)?;
            }
            sub.kind()
        }
        Entry::Separator => PredefinedMenuItem::separator(app)?.kind(),
    })
}
