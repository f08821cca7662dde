//! Fixed-width text tables for people. Cells are padded by hand (format
//! widths stop at 65,535) and very long cells are shortened in the middle;
//! the JSON outputs keep every name whole.

/// Cells longer than this many characters are shortened.
const MAX_CELL: usize = 120;

/// `text` cut to at most [`MAX_CELL`] characters, its middle replaced by `…`.
pub fn shorten(text: &str) -> String {
    let n = text.chars().count();
    if n <= MAX_CELL {
        return text.to_string();
    }
    let keep = (MAX_CELL - 1) / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(n - keep).collect();
    format!("{head}…{tail}")
}

/// Rows laid out in columns separated by two spaces; the last column is
/// not padded. `right` marks right-aligned columns.
pub fn layout(rows: &[Vec<String>], right: &[bool]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| shorten(c)).collect())
        .collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let fill = widths[i] - cell.chars().count();
            let last = i + 1 == row.len();
            if right.get(i).copied().unwrap_or(false) {
                line.extend(std::iter::repeat_n(' ', fill));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if !last {
                    line.extend(std::iter::repeat_n(' ', fill));
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_cells_are_shortened_not_a_panic() {
        let name = "n".repeat(70_000);
        let table = layout(&[vec!["a".into(), name, "z".into()]], &[]);
        assert!(table.chars().count() < 200, "{table}");
        assert!(table.contains('…'));
    }

    #[test]
    fn columns_align() {
        let t = layout(
            &[
                vec!["name".into(), "bytes".into()],
                vec!["x".into(), "1024".into()],
            ],
            &[false, true],
        );
        assert_eq!(t, "name  bytes\nx      1024\n");
    }
}
