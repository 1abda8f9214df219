//! Test databases: a SQLite file in a fresh temporary directory, or a fresh
//! PostgreSQL database (127.0.0.1:5432 by default, `TWOSTEP_TEST_PG_URL` to
//! change) dropped when the test ends. Each test is isolated in its own.

use std::path::PathBuf;

use sqlx::Executor;
use twostep_app::crypto::{Keyring, MasterKey, new_id};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BOTH: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

pub fn pg_base_url() -> String {
    std::env::var("TWOSTEP_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    /// A private directory (the SQLite file lives here; tests may use it too).
    pub dir: PathBuf,
    pg_name: Option<String>,
    master_key: MasterKey,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let dir = std::env::temp_dir().join(format!("twostep-test-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (url, pg_name) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.join("twostep.db").display()), None),
            Backend::Postgres => {
                let name = format!("twostep_t_{}", new_id());
                admin_execute(&format!("CREATE DATABASE {name}")).await;
                (format!("{}/{name}", pg_base_url()), Some(name))
            }
        };
        Self { backend, url, dir, pg_name, master_key: MasterKey::generate() }
    }

    pub fn keyring(&self) -> Keyring {
        Keyring::new(&self.master_key, &[])
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    pub async fn drop_database(&self) {
        if let Some(name) = &self.pg_name {
            admin_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn admin_execute(sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", pg_base_url()))
        .await
        .expect("PostgreSQL must be running at 127.0.0.1:5432 (see README)");
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.expect(sql);
}
