//! Columns of text lined up for a terminal. Widths count what shows: Unicode width, with the
//! colour codes of styled cells left out.

use unicode_width::UnicodeWidthStr;

/// How wide `s` shows on a terminal.
pub fn visible_width(s: &str) -> usize {
    let mut plain = String::with_capacity(s.len());
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => plain.push(c),
        }
    }
    plain.width()
}

/// Every row as one line, each column but the last padded to its widest cell and two
/// spaces; trailing space trimmed.
pub fn lay_out(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| visible_width(cell))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < row.len() {
                    line.push_str(&" ".repeat(widths[c] - visible_width(cell) + 2));
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styled_and_wide_cells_line_up() {
        let rows = vec![
            vec!["ID".to_owned(), "STATE".to_owned(), "X".to_owned()],
            vec![
                "問題-1".to_owned(),
                "\x1b[32mok\x1b[0m".to_owned(),
                "y".to_owned(),
            ],
        ];
        let lines = lay_out(&rows);
        assert_eq!(lines[0], "ID      STATE  X");
        assert_eq!(lines[1], "問題-1  \x1b[32mok\x1b[0m     y");
        assert_eq!(visible_width("\x1b[1mab\x1b[0m"), 2);
    }
}
