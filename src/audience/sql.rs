//! Writes that must happen together, prepared first and then run in one transaction on
//! either backend. Services validate everything, build a list of [`Stmt`]s, and call
//! [`run`]: either every statement commits or none does, so a refused request changes nothing.

use crate::error::{AppError, AppResult};
use crate::on_db;
use crate::store::Db;

#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
}

/// One SQL statement with `$1…$n` placeholders and its arguments.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: String,
    pub args: Vec<Arg>,
    /// When set, the statement must affect exactly this many rows or everything rolls back
    /// (an optimistic check, e.g. that an import's progress is what this worker read).
    pub expect_rows: Option<u64>,
}

impl Stmt {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            args: Vec::new(),
            expect_rows: None,
        }
    }
    pub fn text(mut self, value: impl Into<String>) -> Self {
        self.args.push(Arg::Text(Some(value.into())));
        self
    }
    pub fn opt_text(mut self, value: Option<impl Into<String>>) -> Self {
        self.args.push(Arg::Text(value.map(Into::into)));
        self
    }
    pub fn int(mut self, value: i64) -> Self {
        self.args.push(Arg::Int(value));
        self
    }
    pub fn bool(mut self, value: bool) -> Self {
        self.args.push(Arg::Bool(value));
        self
    }
    pub fn bytes(mut self, value: Vec<u8>) -> Self {
        self.args.push(Arg::Bytes(value));
        self
    }
    pub fn expect_rows(mut self, rows: u64) -> Self {
        self.expect_rows = Some(rows);
        self
    }
    /// The next placeholder number, for statements built row by row.
    pub fn next_placeholder(&self) -> usize {
        self.args.len() + 1
    }
}

/// Raised when a statement's `expect_rows` does not hold; nothing was written.
pub fn is_conflict(err: &AppError) -> bool {
    err.status == 409 && err.name == "concurrent_write"
}

/// Runs the statements in order in one transaction; returns the rows each affected.
pub async fn run(db: &Db, stmts: &[Stmt]) -> AppResult<Vec<u64>> {
    if stmts.is_empty() {
        return Ok(Vec::new());
    }
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut affected = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(stmt.sql.as_str()));
            for arg in &stmt.args {
                query = match arg {
                    Arg::Text(v) => query.bind(v.as_deref()),
                    Arg::Int(v) => query.bind(*v),
                    Arg::Bool(v) => query.bind(*v),
                    Arg::Bytes(v) => query.bind(v.as_slice()),
                };
            }
            let rows = query.execute(&mut *tx).await?.rows_affected();
            if stmt.expect_rows.is_some_and(|expected| expected != rows) {
                tx.rollback().await?;
                return Err(AppError::new(
                    409,
                    "concurrent_write",
                    "The data changed while this request was running; try again.",
                ));
            }
            affected.push(rows);
        }
        tx.commit().await?;
        Ok(affected)
    })
}

/// How a backend numbers bulk parameters. SQLite gets plain `?` (positional): sqlx looks
/// every `$N` up by name, which SQLite answers with a linear scan, so a statement with
/// thousands of `$N` costs O(n²) to bind (measured: 70% of an import's time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    Numbered,
    Positional,
}

impl Placeholders {
    pub fn of(db: &crate::store::Db) -> Self {
        if db.is_postgres() {
            Self::Numbered
        } else {
            Self::Positional
        }
    }

    /// `count` placeholders, numbered from `first`, separated by commas.
    pub fn list(self, first: usize, count: usize) -> String {
        let mut out = String::with_capacity(count * 5);
        for n in first..first + count {
            if n > first {
                out.push_str(", ");
            }
            match self {
                Self::Numbered => {
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                Self::Positional => out.push('?'),
            }
        }
        out
    }

    /// `(…), (…)` for `rows` rows of `columns` values, numbered from `first`.
    pub fn rows(self, first: usize, rows: usize, columns: usize) -> String {
        (0..rows)
            .map(|row| format!("({})", self.list(first + row * columns, columns)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::Placeholders;

    #[test]
    fn placeholders() {
        assert_eq!(Placeholders::Numbered.rows(3, 2, 2), "($3, $4), ($5, $6)");
        assert_eq!(Placeholders::Positional.rows(1, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(Placeholders::Numbered.list(2, 3), "$2, $3, $4");
    }
}
