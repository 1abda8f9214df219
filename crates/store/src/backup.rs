//! An online backup of a SQLite database: `VACUUM INTO` writes a consistent
//! copy of one read snapshot (WAL mode lets the server keep writing
//! meanwhile) into a new file. PostgreSQL has its own tool for this
//! (`pg_dump`, see docs/deployment.md).

use std::path::Path;

use twostep_app::ports::StoreError;

use crate::{Backend, SqlStore, db_err};

impl SqlStore {
    /// Writes a copy of the database to `out`, which must not exist yet.
    pub async fn backup_to(&self, out: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::other(
                "twostep backup copies SQLite databases; back up PostgreSQL with pg_dump (see docs/deployment.md)",
            ));
        }
        let path = out.to_str().ok_or_else(|| StoreError::other("the backup path is not valid UTF-8"))?;
        sqlx::query("VACUUM INTO $1").bind(path.to_owned()).execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}
