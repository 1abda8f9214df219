//! A handler that panics answers 500 with the contract's error body, its
//! request id and the usual headers, and the server keeps serving; the
//! connection is not just dropped. The panic is injected through the clock
//! port, the way a failing dependency would surface in a use case.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use twostep_app::passwords::PasswordHasher;
use twostep_app::ports::{Clock, Delivery, Store};
use twostep_app::{App, SystemClock};
use twostep_delivery::Providers;
use twostep_store::SqlStore;
use twostep_testkit::{Backend, TestDatabase, test_settings};
use twostep_web::AppState;

/// The system clock, which panics once when armed.
#[derive(Default)]
struct FailingClock {
    armed: AtomicBool,
}

impl Clock for FailingClock {
    fn now(&self) -> i64 {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("the clock failed (injected by the test)");
        }
        SystemClock.now()
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_server_carries_on() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let sql = SqlStore::connect(&db.url, &Default::default()).await.unwrap();
    sql.migrate().await.unwrap();
    let clock = Arc::new(FailingClock::default());
    let store: Arc<dyn Store> = Arc::new(sql.clone());
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let delivery: Arc<dyn Delivery> = Arc::new(Providers::default().build(store.clone(), dyn_clock.clone()).unwrap());
    let hasher = PasswordHasher::with_params(1, argon2::Params::new(1024, 1, 1, None).unwrap());
    let app = App::new(store, delivery, dyn_clock, Arc::new(db.keyring()), hasher, test_settings());
    let router = twostep_web::app(AppState::new(app, true));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    let client = twostep_testkit::http_client();

    clock.armed.store(true, Ordering::SeqCst);
    let r = client
        .get(format!("{url}/api/v1/captcha"))
        .header("x-request-id", "boom-1")
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["x-request-id"], "boom-1");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal", "{body}");
    assert!(!body.to_string().contains("injected"), "the panic's text stays in the log: {body}");

    // The next request, on the same connection, is served.
    let r = client.get(format!("{url}/api/v1/captcha")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    server.abort();
    sql.close().await;
    db.drop_database().await;
}
