//! Two `twostep serve` processes on one PostgreSQL database, as behind a load
//! balancer: every security guarantee must hold across them.

mod common;

use std::path::Path;

use common::{Server, call, now};
use serde_json::{Value, json};
use twostep_testkit::{Backend, TestDatabase, oathtool, solve_pow};

const PW: &str = "correct horse battery";

type Instance = Server;

fn start(data_dir: &Path, database_url: &str) -> Instance {
    let args = [
        "--captcha-bits",
        "4",
        "--login-per-ip-per-minute",
        "1000",
        "--accounts-per-ip-per-hour",
        "1000",
        "--codes-per-ip-per-minute",
        "1000",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--database-url",
        database_url,
    ];
    common::serve(data_dir, &args, &[])
}

trait Client {
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value);
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value);
    async fn captcha(&self) -> Value;
    async fn login(&self, email: &str, password: &str) -> (u16, Value);
}

impl Client for Instance {
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        call(&self.url, "POST", path, Some(body), token).await
    }
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        call(&self.url, "GET", path, None, token).await
    }
    async fn captcha(&self) -> Value {
        let c = self.get("/api/v1/captcha", None).await.1;
        json!({"challenge_id": c["challenge_id"], "nonce": solve_pow(c["salt"].as_str().unwrap(), c["difficulty_bits"].as_u64().unwrap() as u32)})
    }
    async fn login(&self, email: &str, password: &str) -> (u16, Value) {
        let captcha = self.captcha().await;
        self.post("/api/v1/login", json!({"email": email, "password": password, "captcha": captcha}), None).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_every_guarantee() {
    let db = TestDatabase::create(Backend::Postgres).await;
    // Both instances start (and migrate) at once, sharing one master key.
    let (a, b) = (start(&db.dir, &db.url), start(&db.dir, &db.url));

    // Sign up on A, read the code from the outbox through B, confirm on B.
    assert_eq!(a.post("/api/v1/accounts", json!({"email": "duo@example.com", "password": PW}), None).await.0, 202);
    // The message goes through the durable queue; A's worker delivers it.
    let mut outbox = b.get("/api/v1/dev/outbox?to=duo@example.com", None).await.1;
    for _ in 0..500 {
        if outbox["messages"][0]["body"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        outbox = b.get("/api/v1/dev/outbox?to=duo@example.com", None).await.1;
    }
    let code = twostep_testkit::extract_code(outbox["messages"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        b.post("/api/v1/accounts/verify-email", json!({"email": "duo@example.com", "code": code}), None).await.0,
        200
    );

    // A session made on A works on B; logout on B ends it on A.
    let token = a.login("duo@example.com", PW).await.1["session_token"].as_str().unwrap().to_owned();
    assert_eq!(b.get("/api/v1/me", Some(&token)).await.0, 200);
    assert_eq!(b.post("/api/v1/logout", json!({}), Some(&token)).await.0, 204);
    assert_eq!(a.get("/api/v1/me", Some(&token)).await.0, 401);

    // A captcha solved on A cannot be used again on B.
    let captcha = a.captcha().await;
    let body = json!({"email": "duo@example.com", "password": PW, "captcha": captcha});
    assert_eq!(a.post("/api/v1/login", body.clone(), None).await.0, 200);
    let r = b.post("/api/v1/login", body, None).await;
    assert_eq!((r.0, r.1["error"]["code"].as_str()), (400, Some("captcha_failed")));

    // Enrol on B; then one code sent to both instances at the same moment is
    // accepted exactly once.
    let token = a.login("duo@example.com", PW).await.1["session_token"].as_str().unwrap().to_owned();
    let sudo = json!({"method": "password", "password": PW});
    assert_eq!(a.post("/api/v1/me/sudo", sudo, Some(&token)).await.0, 200);
    let setup = b.post("/api/v1/me/totp", json!({}), Some(&token)).await.1;
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let confirm = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, now())});
    assert_eq!(a.post("/api/v1/me/totp/confirm", confirm, Some(&token)).await.0, 200);
    for round in 0..2 {
        // The code of the step after the current one (accepted: one step of
        // drift), which is later than any used so far; the second round first
        // waits for the step to change, so its code is later again.
        if round > 0 {
            let next = (now() / 30 + 1) * 30;
            tokio::time::sleep(std::time::Duration::from_millis(((next - now()).max(0) * 1000 + 200) as u64)).await;
        }
        let la = a.login("duo@example.com", PW).await.1["login_id"].as_str().unwrap().to_owned();
        let lb = b.login("duo@example.com", PW).await.1["login_id"].as_str().unwrap().to_owned();
        let code = oathtool(&key, now() + 30);
        let (pa, pb) = (format!("/api/v1/login/{la}/totp"), format!("/api/v1/login/{lb}/totp"));
        let (ra, rb) = tokio::join!(a.post(&pa, json!({"code": code}), None), b.post(&pb, json!({"code": code}), None));
        let wins = [ra.0, rb.0].iter().filter(|s| **s == 200).count();
        assert_eq!(wins, 1, "round {round}: {ra:?} {rb:?}");
    }

    // Failures count across both: ten wrong passwords for one address, split
    // over A and B, make the eleventh attempt on either instance need a
    // harder puzzle than an ordinary one.
    for i in 0..10 {
        let instance = if i % 2 == 0 { &a } else { &b };
        assert_eq!(instance.login("split@example.com", "wrong password").await.0, 401, "attempt {i}");
    }
    for instance in [&a, &b] {
        let r = instance.login("split@example.com", "wrong password").await;
        assert_eq!((r.0, r.1["error"]["code"].as_str()), (400, Some("captcha_failed")), "{r:?}");
        assert!(r.1["error"]["difficulty_bits"].as_u64().is_some(), "{r:?}");
    }

    drop((a, b));
    db.drop_database().await;
}
