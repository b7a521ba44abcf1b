//! Log files: the last lines of a file, and following it as it grows (and rotates).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// How often a followed file is checked for new bytes.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// The last `n` lines of `path` (without their `\n`), reading backwards in blocks so a large
/// file costs only its tail. Invalid UTF-8 is replaced.
pub fn tail(path: &Path, n: usize) -> io::Result<Vec<String>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if n == 0 || len == 0 {
        return Ok(Vec::new());
    }
    const BLOCK: u64 = 64 * 1024;
    let mut start = len;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let step = BLOCK.min(start);
        start -= step;
        file.seek(SeekFrom::Start(start))?;
        let mut block = vec![0u8; step as usize];
        file.read_exact(&mut block)?;
        block.extend_from_slice(&buf);
        buf = block;
        // A trailing newline ends the last line; it does not start a new one.
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let newlines = body.iter().filter(|b| **b == b'\n').count();
        if newlines >= n || start == 0 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        // The first line may be cut in the middle; with enough lines we never need it.
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    Ok(lines[skip..].iter().map(|l| l.to_string()).collect())
}

/// Prints what is appended to `path` from byte `from` on, forever (until the process is
/// interrupted). A file that shrinks (truncated) or is replaced (rotated) is read again from
/// its start, after what was left in the old one.
pub fn follow(path: &Path, from: u64, out: &mut dyn Write) -> io::Result<()> {
    let mut file = File::open(path)?;
    let mut inode = file.metadata()?.ino();
    let mut pos = from;
    loop {
        let copied = copy_from(&mut file, pos, out)?;
        pos += copied;
        out.flush()?;
        std::thread::sleep(FOLLOW_POLL);
        match std::fs::metadata(path) {
            Ok(meta) if meta.ino() != inode => {
                // Rotated: drain the old file, then switch to the new one.
                pos += copy_from(&mut file, pos, out)?;
                match File::open(path) {
                    Ok(new) => {
                        file = new;
                        inode = meta.ino();
                        pos = 0;
                    }
                    Err(_) => continue,
                }
            }
            Ok(meta) if meta.len() < pos => pos = 0,
            _ => {}
        }
    }
}

/// Copies `file` from `pos` to its current end into `out`; returns the byte count.
fn copy_from(file: &mut File, pos: u64, out: &mut dyn Write) -> io::Result<u64> {
    file.seek(SeekFrom::Start(pos))?;
    io::copy(file, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_returns_the_last_lines_of_small_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(tail(&path, 2).unwrap(), vec!["b", "c"]);
        assert_eq!(tail(&path, 10).unwrap(), vec!["a", "b", "c"]);
        assert!(tail(&path, 0).unwrap().is_empty());
        std::fs::write(&path, "no newline at end").unwrap();
        assert_eq!(tail(&path, 1).unwrap(), vec!["no newline at end"]);
        // Larger than one block, with long lines.
        let text: String = (0..5000)
            .map(|i| format!("line {i} {}\n", "x".repeat(40)))
            .collect();
        std::fs::write(&path, &text).unwrap();
        let last = tail(&path, 3).unwrap();
        assert_eq!(last.len(), 3);
        assert!(last[2].starts_with("line 4999 "), "{last:?}");
        assert!(last[0].starts_with("line 4997 "), "{last:?}");
        assert_eq!(tail(&path, 5000).unwrap().len(), 5000);
        assert!(tail(&dir.path().join("missing"), 3).is_err());
    }
}
