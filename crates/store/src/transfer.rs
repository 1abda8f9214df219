//! Moving a whole database between backends (`twostep export` / `import`):
//! tables and column types are read from the catalogue, so every table of
//! every migration moves without a list to keep in sync. Values are copied
//! as they are; sealed secrets stay sealed (the master key moves separately).

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Executor, Row};
use twostep_app::ports::{StoreError, StoreResult};

use crate::{Backend, SqlStore, db_err};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Text,
    Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct TableShape {
    pub name: String,
    pub columns: Vec<(String, ColumnKind)>,
}

const MIGRATIONS_TABLE: &str = "twostep_migrations";
const INSERT_BATCH_ROWS: usize = 100;

fn kind_of(declared: &str) -> StoreResult<ColumnKind> {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") {
        Ok(ColumnKind::Int)
    } else if t.contains("text") || t.contains("char") {
        Ok(ColumnKind::Text)
    } else if t.contains("blob") || t.contains("bytea") {
        Ok(ColumnKind::Bytes)
    } else {
        Err(StoreError::other(format!("column type {declared} cannot be transferred")))
    }
}

fn ident(name: &str) -> StoreResult<&str> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(name)
    } else {
        Err(StoreError::other(format!("unexpected identifier {name:?}")))
    }
}

impl SqlStore {
    /// Every application table (not the migration ledger), accounts first so
    /// that rows referring to an account load after it.
    pub async fn table_shapes(&self) -> StoreResult<Vec<TableShape>> {
        let list = match self.backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
        };
        let mut names: Vec<String> = sqlx::query_scalar(list).fetch_all(&self.pool).await.map_err(db_err)?;
        names.retain(|n| n != MIGRATIONS_TABLE);
        names.sort_by_key(|n| (n != "accounts", n.clone()));
        let columns_sql = match self.backend {
            Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
            Backend::Postgres => {
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
            }
        };
        let mut shapes = Vec::new();
        for name in names {
            let rows = sqlx::query(columns_sql).bind(&name).fetch_all(&self.pool).await.map_err(db_err)?;
            let mut columns = Vec::new();
            for r in rows {
                let column: String = r.try_get(0).map_err(db_err)?;
                let declared: String = r.try_get(1).map_err(db_err)?;
                columns.push((column, kind_of(&declared)?));
            }
            shapes.push(TableShape { name, columns });
        }
        Ok(shapes)
    }

    /// Streams every row of `table` to `visit`, in primary-key order.
    pub async fn dump_table(
        &self,
        table: &TableShape,
        mut visit: impl FnMut(Vec<Value>) -> StoreResult<()>,
    ) -> StoreResult<u64> {
        let cols: Vec<&str> = table.columns.iter().map(|(c, _)| ident(c)).collect::<StoreResult<_>>()?;
        let sql = format!("SELECT {} FROM {} ORDER BY 1", cols.join(", "), ident(&table.name)?);
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&self.pool);
        let mut count = 0;
        while let Some(row) = rows.try_next().await.map_err(db_err)? {
            visit(row_values(&row, table)?)?;
            count += 1;
        }
        Ok(count)
    }

    pub async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        sqlx::query_scalar("SELECT version FROM twostep_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)
    }

    pub async fn is_empty(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&self.pool).await.map_err(db_err)?;
        Ok(n == 0)
    }

    /// Inserts rows into `table` in one transaction.
    pub async fn load_rows(&self, table: &TableShape, rows: &[Vec<Value>]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        insert_rows(&mut tx, self.backend, table, rows).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    /// Starts a load that lands whole or not at all: rows go in through the
    /// [`Load`]'s one transaction, and nothing is visible (or left behind)
    /// unless [`Load::commit`] is reached.
    pub async fn begin_load(&self) -> StoreResult<Load> {
        Ok(Load { tx: self.pool.begin().await.map_err(db_err)?, backend: self.backend })
    }

    /// Every application table has no rows (the migration ledger aside).
    pub async fn all_tables_empty(&self) -> StoreResult<bool> {
        for table in self.table_shapes().await? {
            let sql = format!("SELECT COUNT(*) FROM {}", ident(&table.name)?);
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool).await.map_err(db_err)?;
            if n > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// After a load, identity sequences must continue past the loaded ids.
    pub async fn finish_load(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        reset_identities(&mut conn, self.backend).await
    }

    /// After rows loaded in bulk, leaves the database as a server that has
    /// run a while would find it: on SQLite the log folded into the database
    /// (else the first checkpoints copy the whole load while requests wait
    /// on the same disk), on PostgreSQL the tables vacuumed and the
    /// planner's statistics taken (else autovacuum does both mid-run, as it
    /// does in production after such a load).
    pub async fn settle_after_load(&self) -> StoreResult<()> {
        let statements: &[&str] = match self.backend {
            Backend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
            Backend::Postgres => &["VACUUM ANALYZE"],
        };
        for sql in statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&self.pool).await.map_err(db_err)?;
        }
        Ok(())
    }
}

/// An import in progress: one transaction, rolled back if dropped.
pub struct Load {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
}

impl Load {
    pub async fn load_rows(&mut self, table: &TableShape, rows: &[Vec<Value>]) -> StoreResult<()> {
        insert_rows(&mut self.tx, self.backend, table, rows).await
    }

    /// Moves identity sequences past the loaded ids and commits everything.
    pub async fn commit(mut self) -> StoreResult<()> {
        reset_identities(&mut self.tx, self.backend).await?;
        self.tx.commit().await.map_err(db_err)
    }
}

async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &TableShape,
    rows: &[Vec<Value>],
) -> StoreResult<()> {
    {
        let cols: Vec<&str> = table.columns.iter().map(|(c, _)| ident(c)).collect::<StoreResult<_>>()?;
        let name = ident(&table.name)?;
        let overriding = if backend == Backend::Postgres { " OVERRIDING SYSTEM VALUE" } else { "" };
        for batch in rows.chunks(INSERT_BATCH_ROWS) {
            let mut n = 0;
            let tuples: Vec<String> = batch
                .iter()
                .map(|_| {
                    let params: Vec<String> = cols
                        .iter()
                        .map(|_| {
                            n += 1;
                            format!("${n}")
                        })
                        .collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            let sql = format!("INSERT INTO {name} ({}){overriding} VALUES {}", cols.join(", "), tuples.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in batch {
                if row.len() != cols.len() {
                    return Err(StoreError::other(format!(
                        "{name}: row has {} values for {} columns",
                        row.len(),
                        cols.len()
                    )));
                }
                for (value, (_, kind)) in row.iter().zip(&table.columns) {
                    query = match (value, kind) {
                        (Value::Int(v), _) => query.bind(*v),
                        (Value::Text(v), _) => query.bind(v.clone()),
                        (Value::Bytes(v), _) => query.bind(v.clone()),
                        (Value::Null, ColumnKind::Int) => query.bind(None::<i64>),
                        (Value::Null, ColumnKind::Text) => query.bind(None::<String>),
                        (Value::Null, ColumnKind::Bytes) => query.bind(None::<Vec<u8>>),
                    };
                }
            }
            query.execute(&mut *conn).await.map_err(db_err)?;
        }
    }
    Ok(())
}

/// On PostgreSQL, identity sequences continue past the ids now in the tables.
async fn reset_identities(conn: &mut sqlx::AnyConnection, backend: Backend) -> StoreResult<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for (table, column) in identities {
        let (t, c) = (ident(&table)?, ident(&column)?);
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{t}', '{c}'), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)"
        );
        conn.execute(sqlx::AssertSqlSafe(sql)).await.map_err(db_err)?;
    }
    Ok(())
}

fn row_values(row: &AnyRow, table: &TableShape) -> StoreResult<Vec<Value>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                ColumnKind::Int => row.try_get::<Option<i64>, _>(i).map_err(db_err)?.map_or(Value::Null, Value::Int),
                ColumnKind::Text => {
                    row.try_get::<Option<String>, _>(i).map_err(db_err)?.map_or(Value::Null, Value::Text)
                }
                ColumnKind::Bytes => {
                    row.try_get::<Option<Vec<u8>>, _>(i).map_err(db_err)?.map_or(Value::Null, Value::Bytes)
                }
            })
        })
        .collect()
}
