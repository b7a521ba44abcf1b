// No console window on Windows release builds; irrelevant elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    std::process::exit(parachute_desktop::main_entry());
}
