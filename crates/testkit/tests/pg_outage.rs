//! PostgreSQL going away under traffic: connections cut by the server, and
//! the database refusing connections for a while. Nothing acknowledged may be
//! lost, the server must not need a restart, and /readyz must tell the truth.

use serde_json::json;
use sqlx::{Connection, Executor};
use twostep_testkit::{Backend, TestServer, db::pg_base_url};

async fn admin(sql: String) {
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", pg_base_url())).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
}

fn db_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

async fn cut_connections(name: &str) {
    admin(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_connection_cut_and_the_server_recovers() {
    let s = TestServer::start(Backend::Postgres).await;
    let name = db_name(&s.db.url);
    let mut acknowledged = Vec::new();
    for i in 0..30 {
        if i == 10 || i == 20 {
            cut_connections(&name).await;
        }
        let email = format!("user{i}@example.com");
        let (status, body) =
            s.post("/api/v1/accounts", json!({"email": email, "password": "password 123"}), None).await;
        match status.as_u16() {
            202 => acknowledged.push(email),
            503 => assert_eq!(body["error"]["code"], "unavailable", "{body}"),
            other => panic!("request {i}: {other} {body}"),
        }
    }
    assert!(acknowledged.len() >= 25, "the pool reconnects by itself: {} of 30", acknowledged.len());
    assert_eq!(s.get("/readyz", None).await.0, 200);
    for email in &acknowledged {
        let pending = s.app.store.live_registrations(email, s.now()).await.unwrap();
        assert_eq!(pending.len(), 1, "{email} was acknowledged but lost");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_the_database_is_away_and_recovers_by_itself() {
    let s = TestServer::start(Backend::Postgres).await;
    let name = db_name(&s.db.url);
    assert_eq!(s.get("/readyz", None).await.0, 200);
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    cut_connections(&name).await;
    let (status, body) = s.get("/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    let (status, body) =
        s.post("/api/v1/accounts", json!({"email": "away@example.com", "password": "password 123"}), None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (503, Some("unavailable")), "{body}");
    assert_eq!(s.get("/healthz", None).await.0, 200, "the process itself is up");
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let mut ready = false;
    for _ in 0..50 {
        if s.get("/readyz", None).await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "readiness came back without a restart");
    let (status, _) =
        s.post("/api/v1/accounts", json!({"email": "back@example.com", "password": "password 123"}), None).await;
    assert_eq!(status, 202);
    s.stop().await;
}
