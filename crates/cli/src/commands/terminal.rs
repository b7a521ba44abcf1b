//! The real terminal as a [`Prompt`]: lines to stdout, answers from stdin. Libraries talk to
//! the person through the trait; only this front end touches the terminal.

use std::io::{BufRead, IsTerminal, Write};

use parachute_migrate::Prompt;

/// stdout and stdin.
#[derive(Debug, Default, Clone, Copy)]
pub struct Terminal;

impl Prompt for Terminal {
    fn say(&mut self, line: &str) {
        println!("{line}");
    }

    fn is_interactive(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn ask(&mut self, question: &str) -> String {
        print!("{question}");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        match std::io::stdin().lock().read_line(&mut answer) {
            Ok(_) => answer.trim().to_string(),
            Err(_) => String::new(),
        }
    }
}
