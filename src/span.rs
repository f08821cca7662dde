//! Places in a text file: byte spans, and an index that turns byte offsets
//! into 1-based lines and character columns without rescanning the text,
//! so reporting many findings stays linear in their number.

use std::ops::Range;

/// A byte range in a source text.
pub type Span = Range<usize>;

/// A span covering the one character at byte `at` (empty at the end), so
/// that it never cuts a character in two.
pub fn char_span(text: &str, at: usize) -> Span {
    let start = floor_char_boundary(text, at);
    let len = text[start..].chars().next().map_or(0, char::len_utf8);
    start..start + len
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Characters are counted from checkpoints this many bytes apart, so a
/// column costs at most this much scanning even on a one-line file.
const CHECKPOINT: usize = 4096;

/// Line starts and character-count checkpoints of a text, built once.
#[derive(Clone, Debug)]
pub struct LineIndex {
    /// Byte offset where each line starts; the first is 0.
    line_starts: Vec<usize>,
    /// Characters in `text[..k * CHECKPOINT]`, for each k.
    chars_before: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let mut chars_before = Vec::with_capacity(bytes.len() / CHECKPOINT + 1);
        let mut count = 0;
        for block in bytes.chunks(CHECKPOINT) {
            chars_before.push(count);
            count += char_starts(block);
        }
        chars_before.push(count);
        LineIndex {
            line_starts,
            chars_before,
        }
    }

    /// 1-based line and column (in characters) of byte `offset` of `text`,
    /// the text this index was built from.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self.chars_upto(text, offset) - self.chars_upto(text, start) + 1;
        (line, col)
    }

    /// The byte range of 0-based line `line`, without its line break.
    pub fn line_span(&self, text: &str, line: usize) -> Span {
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(text.len(), |&next| next - 1);
        start..end.max(start)
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    fn chars_upto(&self, text: &str, offset: usize) -> usize {
        let block = offset / CHECKPOINT;
        self.chars_before[block] + char_starts(&text.as_bytes()[block * CHECKPOINT..offset])
    }
}

/// Characters starting in `bytes`: every byte that is not a UTF-8
/// continuation byte.
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "ab\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), (1, 1));
        assert_eq!(index.line_col(text, 4), (2, 2));
        let text = "é\nx";
        assert_eq!(LineIndex::new(text).line_col(text, 3), (2, 1));
    }

    #[test]
    fn columns_far_into_one_long_line() {
        let text = format!("{}é{}", "a".repeat(100_000), "b".repeat(100_000));
        let index = LineIndex::new(&text);
        // 149,999 characters precede byte 150,000 (é takes two bytes).
        assert_eq!(index.line_col(&text, 150_000), (1, 150_000));
    }

    proptest! {
        #[test]
        fn agrees_with_counting_from_the_start(text in "(\\PC|\n){0,300}", at in 0usize..400) {
            let index = LineIndex::new(&text);
            prop_assert_eq!(index.line_col(&text, at), naive(&text, at));
        }
    }
}
