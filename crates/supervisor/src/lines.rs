//! Splitting a module's raw output into lines, a read at a time.
//!
//! A pipe hands us whatever the module wrote, cut anywhere: in the middle of a line, of a
//! `\r\n`, of a UTF-8 character. [`LineSplitter`] carries the unfinished tail of one read over
//! to the next and turns each read into a batch of complete lines. The rules, which do not depend
//! on where the reads happen to be cut:
//!
//! - a line ends at `\n`; one `\r` right before it is dropped (`\r\n` endings);
//! - a line longer than the limit (16 KiB for modules) is split into pieces of the limit, cut
//!   before a UTF-8 character rather than inside it when the text is valid UTF-8, so one runaway
//!   line cannot exhaust memory and no byte is lost;
//! - what is left when the stream ends becomes a last line ([`LineSplitter::finish`]).
//!
//! Every line goes into the output buffer followed by `\n`, so a batch is plain text: its
//! lines joined and terminated by `\n`.

/// Turns a stream of reads into complete lines (see the module docs).
#[derive(Debug)]
pub(crate) struct LineSplitter {
    /// The bytes after the last `\n` seen so far: the start of a line not yet complete.
    partial: Vec<u8>,
    /// Longest line kept whole, in bytes.
    max_line: usize,
}

impl LineSplitter {
    /// A splitter that keeps lines of up to `max_line` bytes whole (at least 4, so a piece can
    /// always hold a whole UTF-8 character).
    pub(crate) fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            max_line: max_line.max(4),
        }
    }

    /// Appends every line completed by `input` to `out` (each followed by `\n`) and keeps the
    /// unfinished rest. Returns how many lines were appended.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let mut lines = 0;
        let mut rest = input;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let (line, after) = (&rest[..end], &rest[end + 1..]);
            if self.partial.is_empty() {
                lines += self.emit(line, out);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                lines += self.emit(&whole, out);
                whole.clear();
                self.partial = whole;
            }
            rest = after;
        }
        self.partial.extend_from_slice(rest);
        lines + self.split_oversized_partial(out)
    }

    /// Ends the stream: an unfinished last line is appended (with its `\n`). Returns how many
    /// lines were appended (0 or more, for a last line over the limit).
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> usize {
        if self.partial.is_empty() {
            return 0;
        }
        let last = std::mem::take(&mut self.partial);
        self.emit(&last, out)
    }

    /// Appends one complete line (without its `\n`), in pieces when it is over the limit.
    fn emit(&self, line: &[u8], out: &mut Vec<u8>) -> usize {
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut pieces = 1;
        while line.len() > self.max_line {
            let cut = cut_point(line, self.max_line);
            out.extend_from_slice(&line[..cut]);
            out.push(b'\n');
            line = &line[cut..];
            pieces += 1;
        }
        out.extend_from_slice(line);
        out.push(b'\n');
        pieces
    }

    /// Emits leading pieces of an unfinished line that already went over the limit. A last byte
    /// `\r` that might be the start of `\r\n` waits for the next read, so the result never
    /// depends on where reads are cut.
    fn split_oversized_partial(&mut self, out: &mut Vec<u8>) -> usize {
        let mut pieces = 0;
        let mut start = 0;
        loop {
            let pending = &self.partial[start..];
            let undecided_cr = pending.len() == self.max_line + 1 && pending.ends_with(b"\r");
            if pending.len() <= self.max_line || undecided_cr {
                break;
            }
            let cut = cut_point(pending, self.max_line);
            out.extend_from_slice(&pending[..cut]);
            out.push(b'\n');
            start += cut;
            pieces += 1;
        }
        if start > 0 {
            self.partial.drain(..start);
        }
        pieces
    }
}

/// Where to cut `line` (longer than `max`) so the first piece has at most `max` bytes: before a
/// UTF-8 character that would straddle the cut, when there is one within three bytes.
fn cut_point(line: &[u8], max: usize) -> usize {
    let is_continuation = |b: u8| b & 0b1100_0000 == 0b1000_0000;
    let mut cut = max;
    while cut > max - 3 && is_continuation(line[cut]) {
        cut -= 1;
    }
    if is_continuation(line[cut]) { max } else { cut }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in_reads(input: &[u8], read: usize, max: usize) -> (String, usize) {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut lines = 0;
        for chunk in input.chunks(read) {
            lines += splitter.feed(chunk, &mut out);
        }
        lines += splitter.finish(&mut out);
        (String::from_utf8(out).unwrap(), lines)
    }

    #[test]
    fn lines_and_crlf_endings_and_a_partial_last_line() {
        let (text, lines) = split_in_reads(b"one\r\ntwo\n\nthree", 1024, 100);
        assert_eq!(text, "one\ntwo\n\nthree\n");
        assert_eq!(lines, 4);
    }

    #[test]
    fn a_lone_carriage_return_stays_in_the_line() {
        let (text, _) = split_in_reads(b"50%\r100%\n", 1024, 100);
        assert_eq!(text, "50%\r100%\n");
    }

    #[test]
    fn the_result_does_not_depend_on_where_reads_are_cut() {
        let mut input = Vec::new();
        for i in 0..200 {
            input.extend_from_slice(format!("line {i} ").as_bytes());
            input.extend(std::iter::repeat_n(b'y', i % 37));
            input.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
            if i % 50 == 0 {
                // A line over the limit, with multi-byte characters around the cuts, and one
                // that ends in `\r` right at the limit.
                input.extend("é€".repeat(30).as_bytes());
                input.push(b'\n');
                input.extend(std::iter::repeat_n(b'z', 32));
                input.extend_from_slice(b"\r\n");
            }
        }
        let (whole, whole_lines) = split_in_reads(&input, input.len(), 32);
        for read in [1, 2, 3, 7, 31, 32, 33, 64, 1000] {
            let (text, lines) = split_in_reads(&input, read, 32);
            assert_eq!(text, whole, "reads of {read} bytes");
            assert_eq!(lines, whole_lines, "reads of {read} bytes");
        }
        assert_eq!(whole.matches('\n').count(), whole_lines);
    }

    #[test]
    fn an_oversized_line_is_split_at_the_limit_and_nothing_is_lost() {
        let input = "a".repeat(40) + "\n";
        let (text, lines) = split_in_reads(input.as_bytes(), 7, 16);
        assert_eq!(
            text,
            format!(
                "{}\n{}\n{}\n",
                "a".repeat(16),
                "a".repeat(16),
                "a".repeat(8)
            )
        );
        assert_eq!(lines, 3);
        // Exactly the limit is one line, not a line and an empty one.
        let (text, lines) = split_in_reads(format!("{}\n", "b".repeat(16)).as_bytes(), 5, 16);
        assert_eq!(
            (text.as_str(), lines),
            (format!("{}\n", "b".repeat(16)).as_str(), 1)
        );
    }

    #[test]
    fn cuts_fall_between_utf8_characters() {
        // 15 ASCII bytes, then a 3-byte character straddling the 16-byte limit.
        let input = format!("{}€tail\n", "x".repeat(15));
        let (text, _) = split_in_reads(input.as_bytes(), 4, 16);
        assert_eq!(text, format!("{}\n€tail\n", "x".repeat(15)));
        // Invalid UTF-8 (continuation bytes only) is still cut at the limit.
        let mut bad = vec![0x80u8; 20];
        bad.push(b'\n');
        let mut splitter = LineSplitter::new(16);
        let mut out = Vec::new();
        assert_eq!(splitter.feed(&bad, &mut out), 2);
        assert_eq!(out.len(), 22);
    }
}
