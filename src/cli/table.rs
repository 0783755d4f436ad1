//! Aligned columns for the text output: widths measured on the text as a terminal shows it
//! (unicode-width, styles excluded), no padding after the last cell, so no line ends in spaces.

use std::io::Write;

use anstyle::Style;
use unicode_width::UnicodeWidthStr;

/// One cell: its text and the style it is shown in.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    pub fn styled(style: Style, text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

impl<T: Into<String>> From<T> for Cell {
    fn from(text: T) -> Cell {
        Cell {
            text: text.into(),
            style: Style::new(),
        }
    }
}

/// Rows of cells printed with every column as wide as its widest cell. A multi-line last cell
/// continues under its own first line.
#[derive(Debug, Default)]
pub struct Table {
    indent: usize,
    right: Vec<usize>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table whose lines start with `indent` spaces.
    pub fn new(indent: usize) -> Table {
        Table {
            indent,
            ..Table::default()
        }
    }

    /// Right-align column `col` (numbers).
    pub fn right_aligned(mut self, col: usize) -> Table {
        self.right.push(col);
        self
    }

    pub fn row<C: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = C>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths = Vec::new();
        for row in &self.rows {
            // The last cell is never padded, so it does not widen its column.
            for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
                let w = first_line(&cell.text).width();
                if widths.len() <= i {
                    widths.push(0);
                }
                widths[i] = widths[i].max(w);
            }
        }
        widths
    }

    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let widths = self.widths();
        for row in &self.rows {
            // Trailing empty cells would only print padding.
            let used = row.len() - row.iter().rev().take_while(|c| c.text.is_empty()).count();
            let mut line = " ".repeat(self.indent);
            let mut column = self.indent;
            for (i, cell) in row.iter().take(used).enumerate() {
                let last = i + 1 == used;
                let text = first_line(&cell.text);
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(text.width());
                if i > 0 {
                    line.push_str("  ");
                    column += 2;
                }
                if self.right.contains(&i) && !last {
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str(&super::style::paint_if(cell.style, text));
                if !last {
                    if !self.right.contains(&i) {
                        line.push_str(&" ".repeat(pad));
                    }
                    column += text.width() + pad;
                }
            }
            writeln!(out, "{}", line.trim_end())?;
            if let Some(cell) = row.get(used.saturating_sub(1)) {
                for more in cell.text.lines().skip(1) {
                    let more = more.trim_end();
                    if more.is_empty() {
                        writeln!(out)?;
                    } else {
                        writeln!(
                            out,
                            "{}{}",
                            " ".repeat(column),
                            super::style::paint_if(cell.style, more)
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A titled table, or nothing at all when it has no rows (no bare headers).
pub fn section(out: &mut impl Write, title: &str, table: &Table) -> std::io::Result<()> {
    if table.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n{}",
        super::style::paint(super::style::HEADER, title)
    )?;
    table.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &Table) -> String {
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_align_and_lines_do_not_end_in_spaces() {
        let mut t = Table::new(2).right_aligned(0);
        t.row(["7", "llvmPackages_20.clang", "x"]);
        t.row(["120", "ld.lld", ""]);
        t.row(["48", "→ é", "tail\nmore"]);
        assert_eq!(
            render(&t),
            "    7  llvmPackages_20.clang  x\n  120  ld.lld\n   48  → é                    tail\n                              more\n"
        );
    }

    #[test]
    fn an_empty_section_prints_nothing() {
        let mut out = Vec::new();
        section(&mut out, "Targets:", &Table::new(2)).unwrap();
        assert!(out.is_empty());
    }
}
