//! The last lines of a module's output, in memory.
//!
//! Lines arrive in batches (one per read from the module's pipe). A batch is stored once, as
//! shared text, and each line is a range into it, so buffering costs no allocation per line;
//! copies are made only for whoever reads the lines. Every line has a sequence number (0 for
//! the first line since the module was first started), which is how followers know what they
//! have seen and what they missed.

use std::collections::VecDeque;
use std::sync::Arc;

/// One buffered line: a range of a batch.
#[derive(Debug, Clone)]
struct RingLine {
    /// The batch's text (lines, each ending in `\n`).
    batch: Arc<String>,
    /// Byte range of this line in `batch`, without its newline.
    start: u32,
    /// End of the range (exclusive).
    end: u32,
}

impl RingLine {
    fn text(&self) -> &str {
        &self.batch[self.start as usize..self.end as usize]
    }

    /// Bytes this line counts for: its text plus one newline.
    fn cost(&self) -> usize {
        (self.end - self.start) as usize + 1
    }
}

/// The last lines of a module's output, bounded by total bytes.
///
/// Oldest whole lines are dropped to stay under the limit, but the newest line is always kept,
/// even if it alone is larger.
#[derive(Debug)]
pub struct RingBuffer {
    /// Lines, oldest first.
    lines: VecDeque<RingLine>,
    /// Sum of the lines' costs (text plus newline).
    bytes: usize,
    /// The byte limit.
    capacity: usize,
    /// Sequence number of `lines[0]` (of the next line, when empty).
    first_seq: u64,
}

impl RingBuffer {
    /// An empty buffer holding at most `capacity` bytes of text.
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            bytes: 0,
            capacity,
            first_seq: 0,
        }
    }

    /// Appends one line (without newline) and drops the oldest lines while over capacity.
    pub fn push(&mut self, line: &str) {
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        self.push_batch(&Arc::new(text));
    }

    /// Appends every line of `batch` (lines each ending in `\n`; a batch longer than 4 GiB is
    /// not supported) and drops the oldest lines while over capacity. Returns the sequence
    /// number of the batch's first line.
    pub fn push_batch(&mut self, batch: &Arc<String>) -> u64 {
        let first = self.next_seq();
        let mut start = 0usize;
        for end in memchr::memchr_iter(b'\n', batch.as_bytes()) {
            let line = RingLine {
                batch: batch.clone(),
                start: start as u32,
                end: end as u32,
            };
            self.bytes += line.cost();
            self.lines.push_back(line);
            start = end + 1;
        }
        while self.bytes > self.capacity && self.lines.len() > 1 {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.cost();
                self.first_seq += 1;
            }
        }
        first
    }

    /// All lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.text().to_string()).collect()
    }

    /// The newest `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines
            .iter()
            .skip(skip)
            .map(|l| l.text().to_string())
            .collect()
    }

    /// Bytes currently held (line text plus one newline each).
    pub fn byte_len(&self) -> usize {
        self.bytes
    }

    /// Sequence number of the oldest line still held (of the next line, when empty).
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Sequence number the next line will get: the number of lines ever pushed.
    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.lines.len() as u64
    }

    /// Up to `max` lines starting at sequence number `seq` (which must be held: between
    /// [`RingBuffer::first_seq`] and [`RingBuffer::next_seq`]), oldest first.
    pub fn from_seq(&self, seq: u64, max: usize) -> Vec<String> {
        let skip = seq.saturating_sub(self.first_seq) as usize;
        self.lines
            .iter()
            .skip(skip)
            .take(max)
            .map(|l| l.text().to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_drops_oldest_whole_lines() {
        let mut ring = RingBuffer::new(10);
        ring.push("aaaa"); // 5
        ring.push("bbbb"); // 10
        assert_eq!(ring.lines(), vec!["aaaa", "bbbb"]);
        ring.push("cc"); // 13 -> drop aaaa -> 8
        assert_eq!(ring.lines(), vec!["bbbb", "cc"]);
        assert_eq!(ring.byte_len(), 8);
    }

    #[test]
    fn ring_keeps_an_oversized_last_line() {
        let mut ring = RingBuffer::new(4);
        ring.push("a");
        ring.push("this line is longer than the buffer");
        assert_eq!(ring.lines(), vec!["this line is longer than the buffer"]);
        assert_eq!(ring.tail(5).len(), 1);
    }

    #[test]
    fn batches_are_numbered_line_by_line_across_evictions() {
        let mut ring = RingBuffer::new(11);
        assert_eq!(ring.push_batch(&Arc::new("one\ntwo\n".into())), 0);
        assert_eq!(ring.push_batch(&Arc::new("three\n\nfour\n".into())), 2);
        // 4 + 4 + 6 + 1 + 5 = 20 bytes > 11: `one`, `two` and `three` are gone.
        assert_eq!(ring.lines(), vec!["", "four"]);
        assert_eq!((ring.first_seq(), ring.next_seq()), (3, 5));
        assert_eq!(ring.from_seq(4, 10), vec!["four"]);
        assert_eq!(ring.from_seq(3, 1), vec![""]);
        assert_eq!(ring.tail(1), vec!["four"]);
    }
}
