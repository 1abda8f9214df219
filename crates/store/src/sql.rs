//! Statements that carry a variable number of rows: placeholder lists and
//! how such statements are prepared.

use std::fmt::Write;

use sqlx::Any;
use sqlx::any::AnyArguments;

pub(crate) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// A statement over `rows` rows: prepared once and kept when it has a single
/// row (the common shape when traffic is light), prepared for each use when
/// its size varies, so that the statement cache does not fill with sizes.
pub(crate) fn statement(sql: String, rows: usize) -> Query<'static> {
    sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(rows == 1)
}

/// A statement `template` with `{}` replaced by `$1, …, $n` for the ids.
pub(crate) fn by_ids<'q>(template: &str, ids: &[&'q str]) -> Query<'q> {
    let mut q = statement(template.replace("{}", &list(ids.len())), ids.len());
    for id in ids {
        q = q.bind(*id);
    }
    q
}

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
