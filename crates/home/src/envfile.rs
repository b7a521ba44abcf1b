//! `<short>/.env`: `KEY=VALUE` lines merged into a module's spawn environment.
//!
//! The format is deliberately tiny (as in the original): a line is a variable when it has an `=`
//! after at least one character; the key is everything before the first `=`; a value wrapped in
//! matching `'` or `"` is unwrapped. There is no comment syntax, no escapes and no `export`:
//! every other line is kept verbatim and ignored. Rewrites touch only the lines they change.

use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;

/// Mode for a newly created `.env` (it may hold API keys).
const NEW_FILE_MODE: u32 = 0o600;

/// The longest `KEY=VALUE` line handed to a module. Linux refuses to start a process with any
/// one environment string over 128 KiB (`E2BIG`); stay well below it.
pub const MAX_SPAWN_LINE: usize = 64 * 1024;

/// The most a `.env` may add to a module's environment in total (the whole environment and
/// the arguments share a limit of a few MiB).
pub const MAX_SPAWN_TOTAL: usize = 1024 * 1024;

/// A `.env` line that defines a variable no process can be given, left out of the spawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number in the file.
    pub line: usize,
    /// Why it was left out (`contains a NUL byte`, …).
    pub reason: String,
}

/// The variables of a `.env` that can go into a module's environment, plus the lines that
/// could not (so the caller can warn, naming the file and the line, and start anyway).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpawnVars {
    /// The file read.
    pub path: PathBuf,
    /// Every usable variable once, in order of first appearance, with its effective value.
    pub vars: Vec<(String, String)>,
    /// Variable lines left out, in file order.
    pub skipped: Vec<SkippedLine>,
}

impl SpawnVars {
    /// One message per skipped line: `<file> line <n>: <reason>; the module starts without it …`.
    pub fn warnings(&self) -> Vec<String> {
        self.skipped
            .iter()
            .map(|s| {
                format!(
                    "{} line {}: {}; the module starts without that line (fix or remove it)",
                    self.path.display(),
                    s.line,
                    s.reason
                )
            })
            .collect()
    }
}

/// Reads the variables of `path` for a spawn: a missing file is empty. Unlike [`EnvFile::read`]
/// it never fails on content: a variable line that is not UTF-8, holds a NUL byte, is longer
/// than [`MAX_SPAWN_LINE`] or would push the total past [`MAX_SPAWN_TOTAL`] is skipped and
/// listed, and every other variable is kept.
pub fn read_spawn_vars(path: &Path) -> io::Result<SpawnVars> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut out = SpawnVars {
        path: path.to_path_buf(),
        ..SpawnVars::default()
    };
    let mut total = 0usize;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    for (index, raw) in body.split(|b| *b == b'\n').enumerate() {
        // Lines without `=` after their first byte define nothing, whatever they hold.
        if !raw.iter().skip(1).any(|b| *b == b'=') {
            continue;
        }
        let mut skip = |reason: String| {
            out.skipped.push(SkippedLine {
                line: index + 1,
                reason,
            })
        };
        let Ok(line) = std::str::from_utf8(raw) else {
            skip("is not valid UTF-8".to_string());
            continue;
        };
        if line.contains('\0') {
            skip("contains a NUL byte, which no process environment can hold".to_string());
            continue;
        }
        if line.len() > MAX_SPAWN_LINE {
            skip(format!(
                "is {} bytes long, over the {MAX_SPAWN_LINE}-byte limit for one variable",
                line.len()
            ));
            continue;
        }
        if total + line.len() > MAX_SPAWN_TOTAL {
            skip(format!(
                "would take the file's variables past {MAX_SPAWN_TOTAL} bytes in total"
            ));
            continue;
        }
        let Some((key, value)) = parse_line(line) else {
            continue;
        };
        total += line.len();
        match out.vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => out.vars.push((key.to_string(), value)),
        }
    }
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn parses_keys_values_and_quotes() {
        let env = EnvFile::parse(
            "A=1\nB=\"two words\"\nC='single'\nD=\"mismatched'\nE=\"\nF==x\n=nokey\nplain line\n# C=comment\nA=later\nG=\n",
        );
        assert_eq!(env.get("A").as_deref(), Some("later"), "later wins");
        assert_eq!(env.get("B").as_deref(), Some("two words"));
        assert_eq!(env.get("C").as_deref(), Some("single"));
        assert_eq!(env.get("D").as_deref(), Some("\"mismatched'"));
        assert_eq!(
            env.get("E").as_deref(),
            Some("\""),
            "one quote is not a pair"
        );
        assert_eq!(
            env.get("F").as_deref(),
            Some("=x"),
            "key ends at the first ="
        );
        assert_eq!(env.get("G").as_deref(), Some(""));
        assert_eq!(
            env.get("# C").as_deref(),
            Some("comment"),
            "no comment syntax"
        );
        assert_eq!(env.get(""), None, "a line starting with = defines nothing");
        assert_eq!(env.get("plain line"), None);
        let keys: Vec<String> = env.vars().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["A", "B", "C", "D", "E", "F", "# C", "G"]);
        assert_eq!(env.vars()[0], ("A".into(), "later".into()));
    }

    #[test]
    fn crlf_values_lose_the_carriage_return() {
        let env = EnvFile::parse("A=1\r\nB=\"q\"\r\n");
        assert_eq!(env.get("A").as_deref(), Some("1"));
        assert_eq!(env.get("B").as_deref(), Some("q"));
        assert_eq!(env.render(), "A=1\r\nB=\"q\"\r\n");
    }

    #[test]
    fn set_and_remove_touch_only_their_lines() {
        let text = "# keep me\nPORT=1940\n  odd line  \nTOKEN='abc'\nPORT=1941\n\nLAST=x";
        let mut env = EnvFile::parse(text);
        assert_eq!(env.render(), text, "no final newline is preserved");
        env.set("PORT", "2000");
        assert_eq!(
            env.render(),
            "# keep me\nPORT=1940\n  odd line  \nTOKEN='abc'\nPORT=2000\n\nLAST=x"
        );
        assert_eq!(env.get("PORT").as_deref(), Some("2000"));
        env.set("NEW", "v");
        assert!(env.render().ends_with("LAST=x\nNEW=v"));
        assert!(env.remove("PORT"));
        assert!(!env.remove("PORT"));
        assert_eq!(
            env.render(),
            "# keep me\n  odd line  \nTOKEN='abc'\n\nLAST=x\nNEW=v"
        );
    }

    #[test]
    fn set_quotes_values_that_would_read_back_differently() {
        let mut env = EnvFile::default();
        env.set("A", "\"quoted\"");
        env.set("B", "'single'");
        env.set("C", "two\nlines");
        env.set("D", "has spaces and = signs");
        let again = EnvFile::parse(&env.render());
        assert_eq!(again.get("A").as_deref(), Some("\"quoted\""));
        assert_eq!(again.get("B").as_deref(), Some("'single'"));
        assert_eq!(again.get("C").as_deref(), Some("two lines"));
        assert_eq!(again.get("D").as_deref(), Some("has spaces and = signs"));
        assert_eq!(
            env.render(),
            "A='\"quoted\"'\nB=\"'single'\"\nC=two lines\nD=has spaces and = signs\n"
        );
    }

    #[test]
    fn spawn_vars_skip_lines_no_process_can_take_and_keep_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".env");
        let mut text = b"GOOD=1\nNUL=a\0b\n".to_vec();
        text.extend_from_slice(format!("BIG={}\n", "x".repeat(1024 * 1024)).as_bytes());
        text.extend_from_slice(
            b"BAD_UTF8=\xff\xfe\nplain line with \0 is ignored\nLAST='ok'\nGOOD=2\n",
        );
        std::fs::write(&path, &text).unwrap();
        let read = read_spawn_vars(&path).unwrap();
        assert_eq!(
            read.vars,
            vec![("GOOD".into(), "2".into()), ("LAST".into(), "ok".into())]
        );
        let lines: Vec<usize> = read.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        let warnings = read.warnings();
        assert!(
            warnings[0].contains(".env line 2: contains a NUL byte"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("line 3: is 1048580 bytes long"),
            "{warnings:?}"
        );
        assert!(
            warnings[2].contains("line 4: is not valid UTF-8"),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .all(|w| w.contains(&path.display().to_string()))
        );
        // A missing file is empty, not an error.
        let none = read_spawn_vars(&tmp.path().join("absent/.env")).unwrap();
        assert!(none.vars.is_empty() && none.skipped.is_empty());
    }

    #[test]
    fn spawn_vars_stop_at_the_total_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".env");
        let line = format!("K{{}}={}\n", "v".repeat(60 * 1024));
        let text: String = (0..20)
            .map(|i| line.replace("{}", &i.to_string()))
            .collect();
        std::fs::write(&path, text).unwrap();
        let read = read_spawn_vars(&path).unwrap();
        let kept: usize = read.vars.iter().map(|(k, v)| k.len() + 1 + v.len()).sum();
        assert!(kept <= MAX_SPAWN_TOTAL, "{kept}");
        assert!(!read.skipped.is_empty());
        assert_eq!(read.vars.len() + read.skipped.len(), 20);
        assert!(read.skipped[0].reason.contains("in total"));
    }

    #[test]
    fn read_write_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vault/.env");
        let env = EnvFile::read(&path).unwrap();
        assert!(env.is_empty());
        let mut env = env;
        env.set("PARACHUTE_HUB_ORIGIN", "https://box.example");
        env.write(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "PARACHUTE_HUB_ORIGIN=https://box.example\n"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a new .env may hold secrets");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut env = EnvFile::read(&path).unwrap();
        assert!(env.remove("PARACHUTE_HUB_ORIGIN"));
        env.write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "an existing file keeps its mode");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
