//! Reading a password: from standard input (`--password-stdin`) or typed twice at the terminal
//! with echo turned off (`--password <pw>` is taken as given by the caller).

use std::io::{BufRead, IsTerminal, Read, Write};
use std::os::fd::AsFd;

use nix::sys::termios::{self, LocalFlags, SetArg};

/// A password in memory, wiped when dropped and never printed by `Debug`.
pub struct Secret(String);

impl Secret {
    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret(text)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8.
        unsafe { self.0.as_bytes_mut() }.fill(0);
    }
}

/// The password piped on standard input: everything read, minus one trailing line ending.
pub fn read_stdin() -> Result<Secret, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let secret = Secret(strip_line_ending(text));
    if secret.0.is_empty() {
        return Err("standard input held no password; pipe a non-empty password in".into());
    }
    Ok(secret)
}

/// Removes one trailing `\n` or `\r\n`.
fn strip_line_ending(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// Asks for the password twice at the terminal, without echo.
pub fn prompt_twice(username: &str) -> Result<Secret, String> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "standard input is not a terminal, so the password cannot be typed; give it with --password <pw>, or pipe it in with --password-stdin (e.g. `printf '%s' \"$PW\" | parachute auth set-password --password-stdin`)"
                .into(),
        );
    }
    let first = prompt_hidden(&format!("New password for \"{username}\": "))?;
    if first.0.is_empty() {
        return Err("the password must not be empty".into());
    }
    let second = prompt_hidden("Type it again: ")?;
    if first.0 != second.0 {
        return Err("the two passwords differ; nothing was changed".into());
    }
    Ok(first)
}

/// Prints `prompt` on stderr and reads one line from the terminal with echo off.
fn prompt_hidden(prompt: &str) -> Result<Secret, String> {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let saved =
        termios::tcgetattr(fd).map_err(|e| format!("cannot read the terminal settings: {e}"))?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    // Echo goes off before the prompt shows: TCSAFLUSH drops type-ahead, and anything typed
    // once the prompt is visible must be neither echoed nor dropped.
    termios::tcsetattr(fd, SetArg::TCSAFLUSH, &quiet)
        .map_err(|e| format!("cannot turn off echo: {e}"))?;
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = termios::tcsetattr(fd, SetArg::TCSAFLUSH, &saved);
    read.map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(Secret(strip_line_ending(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_ending_is_stripped() {
        assert_eq!(strip_line_ending("pw\n".into()), "pw");
        assert_eq!(strip_line_ending("pw\r\n".into()), "pw");
        assert_eq!(strip_line_ending("pw\n\n".into()), "pw\n");
        assert_eq!(strip_line_ending("p w ".into()), "p w ");
        assert_eq!(format!("{:?}", Secret("x".into())), "Secret(..)");
    }
}
