//! Writes that must happen together, prepared first and then run in one transaction on
//! either backend. Services validate everything, build a list of [`Stmt`]s, and call
//! [`run`]: either every statement commits or none does, so a refused request changes nothing.

use crate::on_db;
use crate::store::Db;
use crate::store::team_rows::Row;

#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Bytes(Vec<u8>),
    OptBytes(Option<Vec<u8>>),
    /// Column arrays of PostgreSQL bulk statements (see [`bulk_insert`]). SQLite, which has
    /// no arrays, receives them as JSON text.
    Texts(Vec<Option<String>>),
    Ints(Vec<i64>),
    Bools(Vec<bool>),
    Blobs(Vec<Option<Vec<u8>>>),
}

/// Binding [`Arg`]s on either backend's queries.
pub trait BindArgs: Sized {
    fn bind_arg(self, arg: &Arg) -> Self;
    fn bind_args(self, args: &[Arg]) -> Self {
        args.iter().fold(self, Self::bind_arg)
    }
}

/// `bind_impl!(Query type, array encoding)` for `query`, and `bind_impl!(Database, Row, array
/// encoding)` for `query_as`, whose binds must own their values.
macro_rules! bind_impl {
    ($query:ty, $arrays:ident) => {
        impl<'q> BindArgs for $query {
            fn bind_arg(self, arg: &Arg) -> Self {
                match arg {
                    Arg::Text(v) => self.bind(v.as_deref()),
                    Arg::Int(v) => self.bind(*v),
                    Arg::OptInt(v) => self.bind(*v),
                    Arg::Bool(v) => self.bind(*v),
                    Arg::Bytes(v) => self.bind(v.as_slice()),
                    Arg::OptBytes(v) => self.bind(v.as_deref()),
                    Arg::Texts(v) => self.bind($arrays(v)),
                    Arg::Ints(v) => self.bind($arrays(v)),
                    Arg::Bools(v) => self.bind($arrays(v)),
                    Arg::Blobs(v) => self.bind($arrays(v)),
                }
            }
        }
    };
    ($query:ty, $row:ty, $arrays:ident) => {
        impl<'q, O> BindArgs
            for sqlx::query::QueryAs<'q, $query, O, <$query as sqlx::Database>::Arguments>
        where
            O: Send + Unpin + for<'r> sqlx::FromRow<'r, $row>,
        {
            fn bind_arg(self, arg: &Arg) -> Self {
                match arg {
                    Arg::Text(v) => self.bind(v.clone()),
                    Arg::Int(v) => self.bind(*v),
                    Arg::OptInt(v) => self.bind(*v),
                    Arg::Bool(v) => self.bind(*v),
                    Arg::Bytes(v) => self.bind(v.clone()),
                    Arg::OptBytes(v) => self.bind(v.clone()),
                    Arg::Texts(v) => self.bind($arrays(v).to_owned()),
                    Arg::Ints(v) => self.bind($arrays(v).to_owned()),
                    Arg::Bools(v) => self.bind($arrays(v).to_owned()),
                    Arg::Blobs(v) => self.bind($arrays(v).to_owned()),
                }
            }
        }
    };
}

fn pg_array<T>(values: &[T]) -> &[T] {
    values
}

fn json_array<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

bind_impl!(
    sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    pg_array
);
bind_impl!(
    sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    json_array
);
bind_impl!(Trip, json_array);
bind_impl!(sqlx::Postgres, sqlx::postgres::PgRow, pg_array);
bind_impl!(sqlx::Sqlite, sqlx::sqlite::SqliteRow, json_array);

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
    pub fn opt_int(mut self, value: Option<i64>) -> Self {
        self.args.push(Arg::OptInt(value));
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

/// What running statements can end in: the database's own error, or a statement whose
/// `expect_rows` did not hold (nothing was written). Services pass it on inside their own
/// error type; the HTTP layer answers a conflict with 409 `concurrent_write`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The data changed while this request was running; try again.")]
    Conflict,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether `err` is a statement list's [`StoreError::Conflict`]: nothing was written.
pub fn is_conflict(err: &StoreError) -> bool {
    matches!(err, StoreError::Conflict)
}

/// The error of a statement list whose `expect_rows` did not hold; nothing was written.
pub fn conflict() -> StoreError {
    StoreError::Conflict
}

/// Runs one [`Stmt`] on any executor of either backend (a pool, or `&mut *tx` inside the
/// caller's transaction): `exec_stmt!(executor, &stmt)` gives `Result<u64, sqlx::Error>`, the
/// rows it affected. Its `expect_rows` is not checked (see [`exec_stmts!`]).
#[macro_export]
macro_rules! exec_stmt {
    ($executor:expr, $stmt:expr) => {{
        use $crate::store::sql::BindArgs as _;
        let stmt: &$crate::store::sql::Stmt = $stmt;
        sqlx::query(sqlx::AssertSqlSafe(stmt.sql.as_str()))
            .bind_args(&stmt.args)
            .execute($executor)
            .await
            .map(|r| r.rows_affected())
    }};
}

/// Runs statements in order inside the caller's open transaction `tx` (either backend):
/// `exec_stmts!(tx, &stmts)` gives `Result<Option<Vec<u64>>, sqlx::Error>`, the rows each
/// affected, or `None` as soon as one's `expect_rows` does not hold; the caller then drops
/// (rolls back) the transaction.
#[macro_export]
macro_rules! exec_stmts {
    ($tx:ident, $stmts:expr) => {
        async {
            let mut affected = Vec::new();
            for stmt in $stmts {
                let stmt: &$crate::store::sql::Stmt = stmt;
                let rows = $crate::exec_stmt!(&mut *$tx, stmt)?;
                if stmt.expect_rows.is_some_and(|expected| expected != rows) {
                    return Ok(None);
                }
                affected.push(rows);
            }
            Ok::<_, sqlx::Error>(Some(affected))
        }
        .await
    };
}

/// Runs the statements in order in one transaction; returns the rows each affected.
pub async fn run(db: &Db, stmts: &[Stmt]) -> StoreResult<Vec<u64>> {
    if stmts.is_empty() {
        return Ok(Vec::new());
    }
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let Some(affected) = crate::exec_stmts!(tx, stmts)? else {
            tx.rollback().await?;
            return Err(conflict());
        };
        tx.commit().await?;
        Ok(affected)
    })
}

/// The placeholder style each backend takes (see [`Placeholders::of_tx`]).
pub trait Backend: sqlx::Database {
    const STYLE: Placeholders;
}

impl Backend for sqlx::Sqlite {
    const STYLE: Placeholders = Placeholders::Positional;
}

impl Backend for sqlx::Postgres {
    const STYLE: Placeholders = Placeholders::Numbered;
}

/// How a backend numbers bulk parameters. SQLite gets plain `?` (positional): sqlx looks
/// every `$N` up by name, which SQLite answers with a linear scan, so a statement with
/// thousands of `$N` costs O(n²) to bind (measured: 70% of an import's time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    Numbered,
    Positional,
}

/// Most values one `IN (…)` list of a grouped read names (delivery's reads of the emails and
/// suppressions of every delivery waiting): larger sets are read in chunks of this many.
pub const IN_LIST_MAX: usize = 500;

impl Placeholders {
    pub fn of(db: &crate::store::Db) -> Self {
        if db.is_postgres() {
            Self::Numbered
        } else {
            Self::Positional
        }
    }

    /// The style of the backend of an open transaction `tx`, where only the transaction is
    /// at hand (inside `on_db!`, e.g. `emit_in!`).
    pub fn of_tx<DB: Backend>(_tx: &sqlx::Transaction<'_, DB>) -> Self {
        DB::STYLE
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

/// Bound parameters per SQLite statement, under its limit of 32766.
const MAX_PARAMS: usize = 30_000;

/// `head` (`INSERT INTO t (…)`) for `rows`, then `tail` (`ON CONFLICT …`), in as few
/// statements as the backend allows. PostgreSQL gets one statement over one array per column
/// (`SELECT * FROM UNNEST($1::text[], …)`): its text is the same for any number of rows, so
/// it is prepared once and plans in microseconds, where a VALUES list of thousands of
/// parameters is parsed and planned again for each batch. SQLite gets multi-row VALUES with
/// positional `?`, split under its parameter limit. Every row holds the same kinds of [`Arg`]
/// (`Text`, `Int`, `Bool`, `Bytes` or `OptBytes`) in the same order.
pub fn bulk_insert(style: Placeholders, head: &str, rows: Vec<Vec<Arg>>, tail: &str) -> Vec<Stmt> {
    row_sources(style, rows)
        .into_iter()
        .map(|(source, args)| {
            let mut stmt = Stmt::new(format!("{head} {source}{tail}"));
            stmt.args = args;
            stmt
        })
        .collect()
}

/// As [`bulk_insert`], but only the rows that pass `filter`: the rows are the common table
/// `v(columns)` and `filter` a condition over it (`EXISTS (SELECT 1 FROM … WHERE … = v.team_id)`),
/// checked inside the statement, so inside the caller's transaction.
pub fn bulk_insert_where(
    style: Placeholders,
    head: &str,
    columns: &str,
    rows: Vec<Vec<Arg>>,
    filter: &str,
) -> Vec<Stmt> {
    row_sources(style, rows)
        .into_iter()
        .map(|(source, args)| {
            let mut stmt = Stmt::new(format!(
                "WITH v ({columns}) AS ({source}) {head} SELECT * FROM v WHERE {filter}"
            ));
            stmt.args = args;
            stmt
        })
        .collect()
}

/// `rows` as row sources, each with its arguments: PostgreSQL one `SELECT * FROM UNNEST(…)`
/// over one array per column, SQLite multi-row `VALUES` split under its parameter limit.
fn row_sources(style: Placeholders, rows: Vec<Vec<Arg>>) -> Vec<(String, Vec<Arg>)> {
    let Some(columns) = rows.first().map(Vec::len) else {
        return Vec::new();
    };
    match style {
        Placeholders::Numbered => {
            let arrays = transpose(rows);
            let unnest = arrays
                .iter()
                .enumerate()
                .map(|(i, array)| format!("${}::{}", i + 1, array_type(array)))
                .collect::<Vec<_>>()
                .join(", ");
            vec![(format!("SELECT * FROM UNNEST({unnest})"), arrays)]
        }
        Placeholders::Positional => {
            let per_stmt = (MAX_PARAMS / columns).max(1);
            let mut sources = Vec::new();
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Vec<Arg>> = rows.by_ref().take(per_stmt).collect();
                let values = style.rows(1, chunk.len(), columns);
                sources.push((
                    format!("VALUES {values}"),
                    chunk.into_iter().flatten().collect(),
                ));
            }
            sources
        }
    }
}

fn array_type(array: &Arg) -> &'static str {
    match array {
        Arg::Ints(_) => "int8[]",
        Arg::Bools(_) => "bool[]",
        Arg::Blobs(_) => "bytea[]",
        _ => "text[]",
    }
}

/// Rows of scalars into one array per column.
fn transpose(rows: Vec<Vec<Arg>>) -> Vec<Arg> {
    let n = rows.len();
    let mut arrays: Vec<Arg> = rows[0]
        .iter()
        .map(|arg| match arg {
            Arg::Int(_) => Arg::Ints(Vec::with_capacity(n)),
            Arg::Bool(_) => Arg::Bools(Vec::with_capacity(n)),
            Arg::Bytes(_) | Arg::OptBytes(_) => Arg::Blobs(Vec::with_capacity(n)),
            _ => Arg::Texts(Vec::with_capacity(n)),
        })
        .collect();
    for row in rows {
        for (array, arg) in arrays.iter_mut().zip(row) {
            match (array, arg) {
                (Arg::Texts(a), Arg::Text(v)) => a.push(v),
                (Arg::Ints(a), Arg::Int(v)) => a.push(v),
                (Arg::Bools(a), Arg::Bool(v)) => a.push(v),
                (Arg::Blobs(a), Arg::OptBytes(v)) => a.push(v),
                (Arg::Blobs(a), Arg::Bytes(v)) => a.push(Some(v)),
                (array, arg) => unreachable!("bulk rows disagree: {arg:?} in a {array:?} column"),
            }
        }
    }
    arrays
}

/// `SELECT {select} FROM {table} t` for the rows whose `key` column is one of `values` (and,
/// with `team_id`, of that team): one index probe per value on both backends. PostgreSQL gets
/// the values as one array and a LATERAL subquery it may not flatten (`OFFSET 0`): as a plain
/// join, or an `IN` list, it chooses to hash a scan of the whole table once there are a few
/// thousand values, which made imports quadratic. SQLite joins a VALUES list, which it probes.
pub fn probe(
    style: Placeholders,
    (select, table, key): (&str, &str, &str),
    values: &[&str],
    team_id: Option<&str>,
) -> Stmt {
    let mut stmt = match style {
        Placeholders::Numbered => {
            let team = if team_id.is_some() {
                " AND t.team_id = $2"
            } else {
                ""
            };
            let mut stmt = Stmt::new(format!(
                "SELECT {select} FROM UNNEST($1::text[]) AS v(value) CROSS JOIN LATERAL \
                 (SELECT * FROM {table} t WHERE t.{key} = v.value{team} OFFSET 0) t"
            ));
            stmt.args.push(Arg::Texts(
                values.iter().map(|v| Some(v.to_string())).collect(),
            ));
            stmt
        }
        Placeholders::Positional => {
            let team = if team_id.is_some() {
                " WHERE t.team_id = ?"
            } else {
                ""
            };
            let mut stmt = Stmt::new(format!(
                "SELECT {select} FROM (VALUES {}) AS v JOIN {table} t ON t.{key} = v.column1{team}",
                style.rows(1, values.len(), 1)
            ));
            stmt.args = values
                .iter()
                .map(|v| Arg::Text(Some(v.to_string())))
                .collect();
            stmt
        }
    };
    if let Some(team) = team_id {
        stmt.args.push(Arg::Text(Some(team.to_string())));
    }
    stmt
}

/// The rows of a [`probe`] of `table` (none for no values), planned on each run: a plan
/// cached while the table was empty (the first batches of an import) would outlive it.
pub async fn fetch_probe<T: Row>(
    db: &Db,
    columns: (&str, &str, &str),
    values: &[impl AsRef<str>],
    team_id: Option<&str>,
) -> sqlx::Result<Vec<T>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    let probe = probe(Placeholders::of(db), columns, &values, team_id);
    on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
        probe.sql.clone()
    ))
    .persistent(false)
    .bind_args(&probe.args)
    .fetch_all(pool)
    .await)
}

/// The condition that a column is one of the values of array argument `$n` (an
/// [`Arg::Texts`]): `= ANY($n)` on PostgreSQL, a lookup of each element of the JSON array
/// SQLite receives on SQLite. Unlike an `IN ($3, $4, …)` list, the statement's text does not
/// depend on how many values there are, so its prepared plan is reused (on PostgreSQL a new
/// text costs a round trip more to prepare, and fills the connection's statement cache).
pub fn any_of(style: Placeholders, n: usize) -> String {
    match style {
        Placeholders::Numbered => format!("= ANY(${n})"),
        Placeholders::Positional => format!("IN (SELECT value FROM json_each(${n}))"),
    }
}

/// Statements for one SQLite connection, sent as one multi-statement query: a query is one
/// hand-over to the connection's thread and back, where each statement alone would be one
/// (two thread switches each). SQLite binds each statement's positional `?`s from where the
/// previous statement's ended, so every placeholder is made positional (`$n` placeholders,
/// in whatever order or repetition, get their arguments in the order they appear).
/// Statements come in as [`Stmt`]s, or as text with positional `?`s whose arguments the
/// caller binds next ([`Trips::push`], [`Trips::args`]).
#[derive(Default)]
pub struct Trips {
    text: String,
    args: Trip,
}

/// The arguments of the query being built (bound with `bind`, like a query's).
#[derive(Default)]
pub struct Trip(sqlx::sqlite::SqliteArguments);

impl Trip {
    pub fn bind<'q, T: sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + 'q>(
        mut self,
        value: T,
    ) -> Self {
        use sqlx::Arguments as _;
        // Encoding into SQLite's argument list does not fail for the types Herald binds.
        let _ = self.0.add(value);
        self
    }
}

impl Trips {
    /// Adds `sql`, with positional `?`s only; the caller binds their arguments next with
    /// [`Trips::args`], in order.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        debug_assert!(!sql.contains('$'), "positional placeholders only: {sql}");
        self.text.push_str(sql);
        self.text.push_str(";\n");
        self
    }

    /// Adds a [`Stmt`] with its arguments.
    pub fn stmt(&mut self, stmt: &Stmt) -> &mut Self {
        let order = positional(&mut self.text, &stmt.sql);
        self.text.push_str(";\n");
        let mut args = std::mem::take(&mut self.args);
        for n in order {
            args = args.bind_arg(&stmt.args[n - 1]);
        }
        self.args = args;
        self
    }

    /// Binds the next arguments of the last statement pushed.
    pub fn args(&mut self, bind: impl FnOnce(Trip) -> Trip) -> &mut Self {
        let args = std::mem::take(&mut self.args);
        self.args = bind(args);
        self
    }

    /// Runs the statements in order on `conn`; stops at the first error.
    pub async fn run(self, conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
        sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args.0)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Runs the statements as one write transaction on a connection of `pool`, in one
    /// hand-over: `BEGIN IMMEDIATE`, the statements, `COMMIT`. On an error the transaction
    /// is rolled back; a connection left inside it (the future dropped mid-way) is closed
    /// rather than given back to the pool, which rolls it back too.
    pub async fn commit(mut self, pool: &sqlx::SqlitePool) -> Result<(), sqlx::Error> {
        let text = std::mem::take(&mut self.text);
        self.text = format!("BEGIN IMMEDIATE;\n{text}COMMIT");
        let mut conn = InTransaction(Some(pool.acquire().await?));
        let open = conn.0.as_mut().expect("acquired");
        let result = self.run(open).await;
        if result.is_err() {
            // "no transaction is active" when the failure ended it already.
            let _ = sqlx::query("ROLLBACK").execute(&mut **open).await;
        }
        // Committed or rolled back: the connection may go back to the pool.
        conn.0.take();
        result
    }
}

/// A pooled SQLite connection that may be inside a transaction sqlx does not know about
/// (begun by a statement): dropped while it holds one, it is closed instead of going back to
/// the pool (closing rolls the transaction back).
struct InTransaction(Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>);

impl Drop for InTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// Appends `sql` to `out` with every placeholder made a positional `?`, and returns, for
/// each in order, the 1-based number of the argument it stands for (`$n`: n; the k-th
/// positional `?`: k). Quoted literals and identifiers are copied as they are.
fn positional(out: &mut String, sql: &str) -> Vec<usize> {
    let mut order = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '?' => {
                order.push(order.len() + 1);
                out.push('?');
            }
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                order.push(n);
                out.push('?');
            }
            _ => out.push(c),
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::Placeholders;

    #[test]
    fn positional_placeholders() {
        let mut out = String::new();
        let order = super::positional(
            &mut out,
            "UPDATE t SET a = $2, b = 'x$1?' WHERE c = $1 OR d = $2",
        );
        assert_eq!(out, "UPDATE t SET a = ?, b = 'x$1?' WHERE c = ? OR d = ?");
        assert_eq!(order, [2, 1, 2]);
        out.clear();
        let order = super::positional(&mut out, "INSERT INTO \"q?\" VALUES (?, 'it''s?', ?)");
        assert_eq!(out, "INSERT INTO \"q?\" VALUES (?, 'it''s?', ?)");
        assert_eq!(order, [1, 2]);
    }

    #[test]
    fn placeholders() {
        assert_eq!(Placeholders::Numbered.rows(3, 2, 2), "($3, $4), ($5, $6)");
        assert_eq!(Placeholders::Positional.rows(1, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(Placeholders::Numbered.list(2, 3), "$2, $3, $4");
    }
}
