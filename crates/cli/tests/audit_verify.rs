//! `twostep audit verify` as an operator runs it: success on an intact log,
//! and a non-zero exit naming the first broken entry after an entry is
//! edited, removed or reordered behind the server's back.

use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::Executor;
use twostep_app::ports::{AuditEvent, AuditStore};
use twostep_store::SqlStore;

const BIN: &str = env!("CARGO_BIN_EXE_twostep");

fn verify(dir: &Path) -> (bool, String) {
    let out = Command::new(BIN).args(["audit", "verify", "--data-dir"]).arg(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A data directory whose log holds five entries (sequence numbers 1 to 5).
async fn logged_dir() -> (PathBuf, SqlStore) {
    let dir = std::env::temp_dir().join(format!("twostep-audit-{}", twostep_app::crypto::new_id()));
    let (ok, text) = {
        let out = Command::new(BIN).args(["migrate", "--data-dir"]).arg(&dir).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    assert!(ok, "{text}");
    let store = SqlStore::connect(&format!("sqlite://{}", dir.join("twostep.db").display()), &Default::default())
        .await
        .unwrap();
    for i in 1..=5 {
        let e = AuditEvent {
            at: 1_700_000_000 + i,
            account_id: Some("acc".into()),
            kind: "password_changed".into(),
            ip: "192.0.2.7".into(),
            user_agent: "curl".into(),
            detail: format!("entry {i}"),
        };
        store.append_audit(&e).await.unwrap();
    }
    let (ok, text) = verify(&dir);
    assert!(ok && text.contains("intact: 5 entries"), "{text}");
    (dir, store)
}

async fn tamper(store: &SqlStore, sqls: &[&str]) {
    for sql in sqls {
        store.pool().execute(sqlx::AssertSqlSafe(sql.to_string())).await.unwrap();
    }
}

fn assert_broken_at(dir: &Path, seq: i64) {
    let (ok, text) = verify(dir);
    assert!(!ok, "verify passed a tampered log: {text}");
    assert!(text.contains(&format!("audit entry {seq}:")), "should name entry {seq}: {text}");
}

#[tokio::test]
async fn edited_removed_and_reordered_entries_fail_verification() {
    let (dir, store) = logged_dir().await;
    tamper(&store, &["UPDATE audit_log SET detail = 'entry 3, harmless' WHERE seq = 3"]).await;
    assert_broken_at(&dir, 3);
    store.close().await;

    let (dir2, store) = logged_dir().await;
    tamper(&store, &["DELETE FROM audit_log WHERE seq = 2"]).await;
    assert_broken_at(&dir2, 3);
    store.close().await;

    let (dir3, store) = logged_dir().await;
    // Entries 4 and 2 change places (SQLite lets the sequence numbers move).
    tamper(
        &store,
        &[
            "UPDATE audit_log SET seq = 100 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = 100",
        ],
    )
    .await;
    assert_broken_at(&dir3, 2);
    store.close().await;

    let (dir4, store) = logged_dir().await;
    tamper(&store, &["DELETE FROM audit_log WHERE seq = 5"]).await;
    let (ok, text) = verify(&dir4);
    assert!(!ok && text.contains("removed from the end"), "{text}");
    store.close().await;

    for d in [dir, dir2, dir3, dir4] {
        let _ = std::fs::remove_dir_all(d);
    }
}
