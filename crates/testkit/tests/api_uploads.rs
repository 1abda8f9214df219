//! The identity upload refuses what it must: files that lie about their
//! type (415), an image over 10 MiB (413), under 300×300 (400), truncated
//! (400), missing parts; and keeps nothing it refused.

mod common;

use common::{assert_error, ok};
use serde_json::json;
use twostep_testkit::recovery::{
    Case, Part, file_part, jpeg_image, multipart, open_case, png_image, right_answers, text_part, totp_owner,
};
use twostep_testkit::{Backend, TestServer};

/// A case at the identity step.
async fn case_at_identity(s: &TestServer, email: &str) -> Case {
    let owner = totp_owner(s, email).await;
    let case = open_case(s, &owner.email).await;
    ok(&s.post(&case.path("items"), json!({"reset": ["authenticator"]}), Some(&case.token)).await, 200);
    ok(&s.post(&case.path("codes"), json!({}), Some(&case.token)).await, 202);
    ok(
        &s.post(&case.path("codes/verify"), json!({"email_code": s.code_to(email).await}), Some(&case.token)).await,
        200,
    );
    ok(&s.post(&case.path("answers"), json!({"answers": right_answers(s, &case).await}), Some(&case.token)).await, 200);
    case
}

fn form(
    id_type: &'static str,
    front: Part<'static>,
    back: Option<Part<'static>>,
    selfie: Part<'static>,
) -> Vec<Part<'static>> {
    let mut parts = vec![text_part("country", "FR"), text_part("id_type", id_type), front];
    parts.extend(back);
    parts.push(selfie);
    parts
}

fn jpeg(name: &'static str) -> Part<'static> {
    file_part(name, "image/jpeg", jpeg_image(800, 600, true))
}

#[tokio::test]
async fn uploads_that_lie_are_too_big_too_small_or_truncated_are_refused() {
    let s = TestServer::start(Backend::Sqlite).await;
    let case = case_at_identity(&s, "olga@example.com").await;
    let up = |parts: Vec<Part<'static>>| {
        let (s, path, token) = (&s, case.path("identity"), case.token.clone());
        async move { s.upload(&path, &token, &parts).await }
    };
    let selfie = || file_part("selfie", "image/png", png_image(400, 400, false));

    // Declared a JPEG, is a GIF; declared a PNG, is an SVG; an executable.
    let gif = file_part("front", "image/jpeg", b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec());
    assert_error(&up(form("passport", gif, None, selfie())).await, 415, "unsupported_media_type");
    let svg = file_part("selfie", "image/png", b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec());
    assert_error(&up(form("passport", jpeg("front"), None, svg)).await, 415, "unsupported_media_type");
    let exe = file_part("front", "image/png", b"MZ\x90\x00\x03\x00\x00\x00".to_vec());
    assert_error(&up(form("passport", exe, None, selfie())).await, 415, "unsupported_media_type");

    // Over 10 MiB: a real PNG of 3400×3400 pixels (11 MiB), refused while streaming.
    let big = png_image(3400, 3400, false);
    assert!(big.len() > 10 * 1024 * 1024);
    let r = up(form("passport", file_part("front", "image/png", big), None, selfie())).await;
    assert_error(&r, 413, "payload_too_large");
    assert!(r.1["error"]["message"].as_str().unwrap().contains("front"));

    // Under 300×300, on either side.
    let small = file_part("front", "image/jpeg", jpeg_image(640, 299, false));
    let r = up(form("passport", small, None, selfie())).await;
    assert_error(&r, 400, "invalid_request");
    assert!(r.1["error"]["message"].as_str().unwrap().contains("300"), "{}", r.1);
    let small = file_part("selfie", "image/png", png_image(200, 200, false));
    assert_error(&up(form("passport", jpeg("front"), None, small)).await, 400, "invalid_request");

    // Truncated: the end of the file is missing.
    let mut cut = jpeg_image(800, 600, false);
    cut.truncate(cut.len() - 40);
    let r = up(form("passport", file_part("front", "image/jpeg", cut), None, selfie())).await;
    assert_error(&r, 400, "invalid_request");
    assert!(r.1["error"]["message"].as_str().unwrap().contains("truncated"), "{}", r.1);
    let mut cut = png_image(400, 400, false);
    cut.truncate(cut.len() / 2);
    assert_error(
        &up(form("passport", jpeg("front"), None, file_part("selfie", "image/png", cut))).await,
        400,
        "invalid_request",
    );

    // Missing or wrong fields.
    assert_error(&up(form("national_id", jpeg("front"), None, selfie())).await, 400, "invalid_request");
    assert_error(&up(form("library_card", jpeg("front"), None, selfie())).await, 400, "invalid_request");
    assert_error(
        &up(vec![text_part("country", "XX"), text_part("id_type", "passport"), jpeg("front"), selfie()]).await,
        400,
        "invalid_request",
    );
    assert_error(&up(vec![text_part("id_type", "passport"), jpeg("front"), selfie()]).await, 400, "invalid_request");
    assert_error(&up(form("passport", jpeg("front"), Some(jpeg("front")), selfie())).await, 400, "invalid_request");
    assert_error(&up(form("passport", jpeg("front"), Some(jpeg("extra")), selfie())).await, 400, "invalid_request");
    // Not multipart at all.
    assert_error(
        &s.post(&case.path("identity"), json!({"front": "…"}), Some(&case.token)).await,
        415,
        "unsupported_media_type",
    );
    // A stranger's upload is refused before it is read.
    assert_error(
        &s.upload(&case.path("identity"), "forged", &form("passport", jpeg("front"), None, selfie())).await,
        401,
        "unauthorized",
    );

    // Nothing refused was kept; the step is still open.
    assert_eq!(s.app.store.case_documents(&case.id).await.unwrap().len(), 0);
    assert_eq!(ok(&s.get(&case.path(""), Some(&case.token)).await, 200)["steps"]["identity"], false);

    // A national ID needs its back; a PNG declared as JPEG is taken as the PNG it is.
    let front = file_part("front", "image/jpeg", png_image(500, 320, true));
    let back = file_part("back", "application/octet-stream", jpeg_image(500, 320, true));
    let r = ok(&up(form("national_id", front, Some(back), jpeg("selfie"))).await, 201);
    let types: Vec<(&str, &str)> = r["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["slot"].as_str().unwrap(), d["content_type"].as_str().unwrap()))
        .collect();
    assert_eq!(types, [("back", "image/jpeg"), ("front", "image/png"), ("selfie", "image/jpeg")]);
    s.stop().await;
}

#[tokio::test]
async fn a_body_past_the_upload_limit_is_cut_off() {
    let s = TestServer::start(Backend::Sqlite).await;
    let case = case_at_identity(&s, "pia@example.com").await;
    // 33 MiB of parts the form does not have, past the route's 31 MiB limit.
    let junk = vec![b'x'; 11 * 1024 * 1024];
    let parts: Vec<Part> =
        ["front", "back", "selfie"].iter().map(|n| file_part(n, "image/jpeg", junk.clone())).collect();
    let (content_type, body) = multipart(&parts);
    let resp = s
        .client()
        .post(format!("{}{}", s.url, case.path("identity")))
        .bearer_auth(&case.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await;
    // The server answers 413 or closes the connection; either way nothing is kept.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    }
    assert_eq!(s.app.store.case_documents(&case.id).await.unwrap().len(), 0);
    assert_eq!(s.get("/healthz", None).await.0, 200);
    s.stop().await;
}
