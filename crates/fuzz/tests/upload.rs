//! The identity upload (`multipart/form-data`) fuzzed through the router: a
//! real form with a JPEG passport and a PNG selfie, mutated by byte and by
//! splicing (boundaries, part headers, image bytes, field names). Every
//! answer must be below 500 with the contract's error shape.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;
use twostep_fuzz::fuzz;
use twostep_testkit::recovery::{
    Case, file_part, multipart, open_case, passport_form, png_image, right_answers, text_part, totp_owner,
};
use twostep_testkit::{Backend, TestServer, test_settings};
use twostep_web::AppState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_uploads() {
    // The per-account upload cap would stop the fuzzing at the door.
    let open = twostep_app::limits::HourlyCap { per_account: 1_000_000, per_ip: 1_000_000 };
    let costs = twostep_app::limits::CostLimits { uploads: open, ..twostep_testkit::test_cost_limits() };
    let settings = twostep_app::Settings { captcha_bits: 0, costs, ..test_settings() };
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    let mut case = ready_case(&s, 0).await;
    let mut cases = 1;
    let router = twostep_web::app(AppState::new(s.app.clone(), true));
    let (content_type, passport) = multipart(&passport_form());
    let boundary = content_type.split("boundary=").nth(1).unwrap().to_owned();
    let id_card = [
        text_part("country", "FR"),
        text_part("id_type", "national_id"),
        file_part("front", "image/png", png_image(320, 320, false)),
        file_part("back", "image/jpeg", png_image(320, 320, true)),
        file_part("selfie", "application/octet-stream", png_image(300, 300, false)),
    ];
    let (_, card) = multipart(&id_card);
    let card = String::from_utf8_lossy(&card).replace(&card_boundary(&card), &boundary).into_bytes();
    let handle = tokio::runtime::Handle::current();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let ran = tokio::task::block_in_place(|| {
        fuzz("identity_upload", &[&passport, &card], 1_000, |body| {
            let req = Request::builder()
                .method("POST")
                .uri(case.path("identity").as_str())
                .header("content-type", content_type.as_str())
                .header("authorization", format!("Bearer {}", case.token))
                .body(Body::from(body.to_vec()))
                .unwrap();
            let (status, bytes) = handle.block_on(async {
                let resp = router.clone().oneshot(req).await.unwrap();
                let status = resp.status();
                (status, axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap())
            });
            *statuses.entry(status.as_u16()).or_default() += 1;
            if status.as_u16() == 201 {
                // The step is done for this case: the next input gets a fresh one.
                case = handle.block_on(ready_case(&s, cases));
                cases += 1;
            }
            assert!(status.as_u16() < 500, "upload answered {status}: {}", String::from_utf8_lossy(&bytes));
            if !status.is_success() {
                let v: Value = serde_json::from_slice(&bytes).expect("a JSON error body");
                if std::env::var("TWOSTEP_FUZZ_DEBUG").is_ok() {
                    eprintln!("{status} {}", v["error"]["message"]);
                }
                assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{v}");
            }
        })
    });
    assert!(ran >= 1_000);
    println!("identity upload answers by status: {statuses:?}");
    assert!(statuses.contains_key(&201), "no upload got through: the fuzzing stopped at the door");
    s.stop().await;
}

/// A case of a fresh owner with every step before the upload done: what to
/// reset, the e-mailed code, the questions.
async fn ready_case(s: &TestServer, n: usize) -> Case {
    let email = format!("upload-fuzz-{n}@example.com");
    totp_owner(s, &email).await;
    let case = open_case(s, &email).await;
    let (status, body) = s.post(&case.path("items"), json!({"reset": ["authenticator"]}), Some(&case.token)).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let (status, body) = s.post(&case.path("codes"), json!({}), Some(&case.token)).await;
    assert_eq!(status.as_u16(), 202, "{body}");
    let code = s.code_to(&email).await;
    let (status, body) = s.post(&case.path("codes/verify"), json!({"email_code": code}), Some(&case.token)).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let answers = right_answers(s, &case).await;
    let (status, body) = s.post(&case.path("answers"), json!({"answers": answers}), Some(&case.token)).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    case
}

/// The boundary a form was written with (its first line, without `--`).
fn card_boundary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.lines().next().unwrap().trim_start_matches("--").to_owned()
}
