//! Placeholder lists for statements that carry a variable number of rows.

use std::fmt::Write;

/// `($1, $2), ($3, $4)` for 2 rows of 2 parameters.
pub(crate) fn values(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            let sep = if c == 0 { "" } else { ", " };
            let _ = write!(out, "{sep}${}", r * cols + c + 1);
        }
        out.push(')');
    }
    out
}

/// `$1, $2, $3` for 3 parameters.
pub(crate) fn list(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_by_row() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(1, 1), "($1)");
        assert_eq!(list(3), "$1, $2, $3");
        assert_eq!(list(1), "$1");
    }
}
