//! `<short>/.env`: `KEY=VALUE` lines merged into a module's spawn environment.
//!
//! The format is deliberately tiny (as in the original): a line is a variable when it has an `=`
//! after at least one character; the key is everything before the first `=`; a value wrapped in
//! matching `'` or `"` is unwrapped. There is no comment syntax, no escapes and no `export`:
//! every other line is kept verbatim and ignored. Rewrites touch only the lines they change.

use std::io;
use std::path::Path;

use crate::atomic::write_atomic;

/// Mode for a newly created `.env` (it may hold API keys).
const NEW_FILE_MODE: u32 = 0o600;

/// A parsed `.env` file that remembers its exact lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    /// The file's lines without their `\n` (a final empty line after the last `\n` is not kept).
    lines: Vec<String>,
    /// Whether the text ended with `\n` (kept on write so untouched files stay byte-identical).
    trailing_newline: bool,
}

impl Default for EnvFile {
    fn default() -> Self {
        EnvFile {
            lines: Vec::new(),
            trailing_newline: true,
        }
    }
}

impl EnvFile {
    /// Reads `path`; a missing file is an empty `EnvFile`.
    pub fn read(path: &Path) -> io::Result<EnvFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(EnvFile::parse(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(EnvFile::default()),
            Err(e) => Err(e),
        }
    }

    /// Parses file text.
    pub fn parse(text: &str) -> EnvFile {
        if text.is_empty() {
            return EnvFile::default();
        }
        let trailing_newline = text.ends_with('\n');
        let body = text.strip_suffix('\n').unwrap_or(text);
        EnvFile {
            lines: body.split('\n').map(str::to_string).collect(),
            trailing_newline,
        }
    }

    /// The value of `key` (the last line defining it wins), unquoted.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lines
            .iter()
            .rev()
            .filter_map(|l| parse_line(l))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// Every variable once, in order of first appearance, with its effective (last) value.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in self.lines.iter().filter_map(|l| parse_line(l)) {
            match out.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = v,
                None => out.push((k.to_string(), v)),
            }
        }
        out
    }

    /// Sets `key` to `value`: rewrites the line that currently defines it (the last one), or
    /// appends a line. A value that would read back differently (wrapped in quotes) is quoted
    /// with the other quote character; line breaks cannot be represented and become spaces.
    pub fn set(&mut self, key: &str, value: &str) {
        let value = value.replace(['\r', '\n'], " ");
        let encoded = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            format!("'{value}'")
        } else if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
            format!("\"{value}\"")
        } else {
            value
        };
        let line = format!("{key}={encoded}");
        match self
            .lines
            .iter()
            .rposition(|l| parse_line(l).is_some_and(|(k, _)| k == key))
        {
            Some(i) => self.lines[i] = line,
            None => self.lines.push(line),
        }
    }

    /// Removes every line defining `key`; whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.lines.len();
        self.lines
            .retain(|l| parse_line(l).is_none_or(|(k, _)| k != key));
        self.lines.len() != before
    }

    /// Whether there are no lines at all.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The file text: untouched lines byte-identical, final newline as read.
    pub fn render(&self) -> String {
        if self.lines.is_empty() {
            return String::new();
        }
        let mut text = self.lines.join("\n");
        if self.trailing_newline {
            text.push('\n');
        }
        text
    }

    /// Writes atomically, keeping the mode of an existing file; a new file gets mode 0600.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mode = if path.exists() {
            None
        } else {
            Some(NEW_FILE_MODE)
        };
        write_atomic(path, self.render().as_bytes(), mode)
    }
}

/// `KEY=VALUE` -> (key, unquoted value); `None` for lines that define nothing.
fn parse_line(line: &str) -> Option<(&str, String)> {
    let eq = line.find('=').filter(|i| *i > 0)?;
    let key = &line[..eq];
    let raw = &line[eq + 1..];
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let unquoted = if raw.len() >= 2
        && ((raw.starts_with('"') && raw.ends_with('"'))
            || (raw.starts_with('\'') && raw.ends_with('\'')))
    {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    Some((key, unquoted.to_string()))
}
