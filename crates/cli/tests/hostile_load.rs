//! What strangers can make a real `twostep serve` spend: uploads sent without
//! a live recovery case are refused before their body is read, so the
//! process's resident memory stays bounded however many arrive at once; and
//! `/metrics` can be kept from them, behind a token or on a listener of its
//! own.

mod common;

use std::time::Duration;

use common::{serve, temp_dir};

/// The process's peak and current resident memory, in MiB, from /proc.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} in {status}"));
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb / 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A multipart identity form of about 30 MB: the CSRF token first (as the
/// page sends it), then three images' worth of bytes.
fn bogus_upload(csrf: &str) -> (String, bytes::Bytes) {
    let boundary = "twostep-test-boundary-7f3a";
    let mut body = Vec::with_capacity(31 * 1024 * 1024);
    let mut field = |name: &str, file: bool, content: &[u8]| {
        let disposition = if file {
            format!("form-data; name=\"{name}\"; filename=\"{name}.jpg\"\r\nContent-Type: image/jpeg")
        } else {
            format!("form-data; name=\"{name}\"")
        };
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    field("csrf", false, csrf.as_bytes());
    field("country", false, b"GB");
    field("id_type", false, b"national_id");
    let image = vec![0xA5u8; 10 * 1024 * 1024 - 4096];
    for slot in ["front", "back", "selfie"] {
        field(slot, true, &image);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bogus_page_uploads_are_refused_before_they_are_read() {
    let dir = temp_dir();
    let data = dir.join("data");
    let server = serve(&dir, &["--captcha-bits", "0", "--data-dir", data.to_str().unwrap()], &[]);
    let http = twostep_testkit::http_client();
    // What any stranger has: a pre-session cookie and its CSRF token from a
    // public page, and a case cookie made up.
    let page = http.get(format!("{}/signup", server.url)).send().await.unwrap();
    let pre = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("twostep_pre="))
        .expect("a pre-session cookie");
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF token") + 19;
    let csrf = html[at..at + html[at..].find('"').unwrap()].to_owned();
    let (content_type, body) = bogus_upload(&csrf);
    let (peak_before, _) = memory_mib(server.pid());

    for round in 0..2 {
        let uploads = (0..32).map(|i| {
            let (http, url, body, content_type) =
                (http.clone(), server.url.clone(), body.clone(), content_type.clone());
            let cookie = format!("{pre}; twostep_case=case{round}x{i}.made-up-token-{i}");
            tokio::spawn(async move {
                let sent = http
                    .post(format!("{url}/recovery/identity"))
                    .header("cookie", cookie)
                    .header("content-type", content_type)
                    .body(body)
                    .timeout(Duration::from_secs(60))
                    .send()
                    .await;
                // Refused (no such case, or too many from this address), or
                // the connection closed under a body the server did not read.
                match sent {
                    Ok(r) => assert!(r.status().is_client_error(), "a bogus upload was answered {}", r.status()),
                    Err(e) => assert!(!e.is_timeout(), "{e}"),
                }
            })
        });
        for upload in uploads.collect::<Vec<_>>() {
            upload.await.unwrap();
        }
        let (peak, now) = memory_mib(server.pid());
        eprintln!("round {round}: peak {peak} MiB, now {now} MiB (peak before the uploads {peak_before} MiB)");
        assert!(peak < 200, "round {round}: the server peaked at {peak} MiB (from {peak_before} MiB)");
        assert!(now < 200, "round {round}: the server holds {now} MiB after the uploads");
    }
    // It still serves.
    let r = http.get(format!("{}/healthz", server.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn metrics_can_be_kept_behind_a_token_or_on_their_own_listener() {
    let dir = temp_dir();
    let data = dir.join("data");
    let http = twostep_testkit::http_client();

    let server = serve(
        &dir,
        &["--captcha-bits", "0", "--data-dir", data.to_str().unwrap(), "--metrics-token", "scrape-secret"],
        &[],
    );
    let metrics = format!("{}/metrics", server.url);
    let r = http.get(&metrics).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http.get(&metrics).bearer_auth("scrape-secreT").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http.get(&metrics).bearer_auth("scrape-secret").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("twostep_http_requests_total"));
    drop(server);

    let server = serve(
        &dir,
        &["--captcha-bits", "0", "--data-dir", data.to_str().unwrap(), "--metrics-listen", "127.0.0.1:0"],
        &[],
    );
    let own = server
        .banner
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {:?}", server.banner))
        .trim_end_matches([')', ',']);
    // Not on the public listener at all; on its own, to anyone who reaches it.
    let r = http.get(format!("{}/metrics", server.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(http.get(format!("{}/healthz", server.url)).send().await.unwrap().status(), 200);
    let r = http.get(own).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("twostep_http_requests_total{method=\"GET\",route=\"/healthz\""));
}
