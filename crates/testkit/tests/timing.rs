//! Timing side channels. Over HTTP, where milliseconds are what an attacker
//! sees: a sign-in with an unknown e-mail must take as long as one with a
//! known e-mail and a wrong password (or the time tells which addresses have
//! accounts). On the comparison function itself, where nanoseconds can be
//! seen: every check of a typed code or token against the kept one goes
//! through `twostep_domain::codes::same_secret`, which must take as long
//! wherever its inputs first differ (or the time leaks how much of a code
//! was right). A difference of nanoseconds is lost in HTTP's noise, so the
//! function is timed directly, with `==` (which stops at the first
//! difference) as the control that shows the method sees such a leak.
//!
//! Method: the two kinds of sample alternate (ABBA order, so drift and
//! background load hit both alike); after a warm-up, the samples of each
//! are trimmed to their central 80% (scheduler outliers live in the tails)
//! and compared with the two-sample Kolmogorov–Smirnov test. The test fails
//! when the statistic D exceeds the critical value at α = 0.001,
//! c(α)·√((n+m)/(n·m)) with c(α) = √(−ln(α/2)/2) ≈ 1.95, that is, when the
//! two distributions are distinguishable. Each comparison prints D, the
//! critical value and both medians. On SQLite and PostgreSQL. The tests run
//! alone (see `.config/nextest.toml`), so other tests do not add noise.

use std::time::Instant;

use serde_json::json;
use twostep_testkit::{Backend, TestServer, test_settings};

const PW: &str = "correct horse battery";
const SAMPLES: usize = 300;
const WARM_UP: usize = 20;
const ALPHA: f64 = 0.001;
const TRIM: f64 = 0.10;

/// The two-sample Kolmogorov–Smirnov statistic: the largest distance
/// between the two empirical distribution functions.
fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

fn ks_critical(n: usize, m: usize, alpha: f64) -> f64 {
    let c = (-(alpha / 2.0).ln() / 2.0).sqrt();
    c * ((n + m) as f64 / (n * m) as f64).sqrt()
}

fn trimmed(samples: &[f64]) -> Vec<f64> {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let cut = (s.len() as f64 * TRIM) as usize;
    s[cut..s.len() - cut].to_vec()
}

fn median(sorted: &[f64]) -> f64 {
    sorted[sorted.len() / 2]
}

/// Fails when the samples' distributions are distinguishable.
fn assert_indistinguishable(what: &str, a_name: &str, a: &[f64], b_name: &str, b: &[f64]) {
    let (ta, tb) = (trimmed(a), trimmed(b));
    let d = ks_statistic(&ta, &tb);
    let critical = ks_critical(ta.len(), tb.len(), ALPHA);
    println!(
        "timing {what}: KS D = {d:.3} (critical {critical:.3} at alpha {ALPHA}, n = m = {}); median {a_name} {:.3}, {b_name} {:.3} \
         (ms a request, ns a batch of comparisons)",
        ta.len(),
        median(&ta),
        median(&tb)
    );
    assert!(
        d <= critical,
        "{what}: the latencies of {a_name} and {b_name} are distinguishable (D {d:.3} > {critical:.3})"
    );
}

/// Times `kinds` requests in rotating order, `rounds` times; returns the
/// milliseconds of each kind.
async fn interleaved<F, Fut>(rounds: usize, kinds: usize, mut round: F) -> Vec<Vec<f64>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<
            Output = Vec<Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = u16>>>>>,
        >,
{
    let mut out = vec![Vec::new(); kinds];
    for r in 0..rounds {
        let mut requests: Vec<_> = round(r).await.into_iter().map(Some).collect();
        for k in 0..kinds {
            // Rotate and mirror the order from round to round.
            let kind = if r % 2 == 0 { (k + r / 2) % kinds } else { kinds - 1 - (k + r / 2) % kinds };
            let request = requests[kind].take().unwrap();
            let started = Instant::now();
            let _status = request().await;
            out[kind].push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    out
}

fn server_settings() -> twostep_app::Settings {
    twostep_app::Settings { captcha_bits: 0, ..test_settings() }
}

#[tokio::test]
async fn unknown_email_and_wrong_password_take_the_same_time_on_sqlite() {
    unknown_email_and_wrong_password_take_the_same_time(Backend::Sqlite).await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_take_the_same_time_on_postgres() {
    unknown_email_and_wrong_password_take_the_same_time(Backend::Postgres).await;
}

async fn unknown_email_and_wrong_password_take_the_same_time(backend: Backend) {
    let s: &'static TestServer = Box::leak(Box::new(TestServer::start_with(backend, server_settings()).await));
    s.verified_account("known@example.com", PW).await;
    let times = interleaved(WARM_UP + SAMPLES, 2, |_| async move {
        // Past any lockout the failures so far would cause.
        s.clock.advance(2 * 3600);
        let call =
            |email: &'static str| -> Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = u16>>>> {
                Box::new(move || {
                    Box::pin(async move {
                        let (status, body) =
                            s.post("/api/v1/login", json!({"email": email, "password": "wrong password"}), None).await;
                        assert_eq!(status, 401, "{body}");
                        status.as_u16()
                    })
                })
            };
        vec![call("nobody@example.com"), call("known@example.com")]
    })
    .await;
    assert_indistinguishable(
        &format!("{backend:?}: sign-in, unknown e-mail vs known e-mail with a wrong password"),
        "unknown e-mail",
        &times[0][WARM_UP..],
        "wrong password",
        &times[1][WARM_UP..],
    );
}

/// A wrong e-mailed code, at the password reset's and the freeze's code
/// checks, takes as long for an address without an account as for an
/// account's (else the time would tell which addresses have accounts).
#[tokio::test]
async fn a_wrong_reset_or_freeze_code_takes_the_same_time_for_any_address() {
    let s: &'static TestServer = Box::leak(Box::new(TestServer::start_with(Backend::Sqlite, server_settings()).await));
    s.verified_account("known@example.com", PW).await;
    ok_status(&s.post("/api/v1/password-reset", json!({"email": "known@example.com"}), None).await, 202);
    ok_status(&s.post("/api/v1/freeze/code", json!({"email": "known@example.com"}), None).await, 202);
    let times = interleaved(WARM_UP + SAMPLES, 4, |_| async move {
        // Past the per-minute caps the tries so far count against.
        s.clock.advance(120);
        let call = |path: &'static str,
                    email: &'static str|
         -> Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = u16>>>> {
            Box::new(move || {
                Box::pin(async move {
                    let (status, body) = s.post(path, json!({"email": email, "code": "000000"}), None).await;
                    assert_eq!(status, 401, "{path}: {body}");
                    status.as_u16()
                })
            })
        };
        vec![
            call("/api/v1/password-reset/verify", "nobody@example.com"),
            call("/api/v1/password-reset/verify", "known@example.com"),
            call("/api/v1/freeze", "nobody@example.com"),
            call("/api/v1/freeze", "known@example.com"),
        ]
    })
    .await;
    for (what, unknown, known) in [("password reset code", 0, 1), ("freeze code", 2, 3)] {
        assert_indistinguishable(
            &format!("{what}, unknown address vs an account's"),
            "unknown address",
            &times[unknown][WARM_UP..],
            "account's address",
            &times[known][WARM_UP..],
        );
    }
}

fn ok_status(answer: &(reqwest::StatusCode, serde_json::Value), status: u16) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
}

/// `kinds` × `samples` timings of `batch` calls of `compare`, in ABBA order;
/// the first `WARM_UP` of each dropped. Both kinds are compared from the
/// same buffer (each copied into it, untimed, before its batch): where two
/// buffers happen to lie in memory (alignment, a page boundary) otherwise
/// makes a small difference of its own, which a layout can turn into a
/// difference the test sees.
fn time_comparisons(
    compare: &dyn Fn(&[u8], &[u8]) -> bool,
    kept: &[u8],
    given: [&[u8]; 2],
    batch: usize,
) -> [Vec<f64>; 2] {
    assert_eq!(given[0].len(), given[1].len(), "the two kinds compare inputs of one length");
    let mut probe = given[0].to_vec();
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..WARM_UP + COMPARISON_SAMPLES {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            probe.copy_from_slice(given[k]);
            let started = Instant::now();
            for _ in 0..batch {
                std::hint::black_box(compare(std::hint::black_box(kept), std::hint::black_box(&probe)));
            }
            if round >= WARM_UP {
                times[k].push(started.elapsed().as_nanos() as f64);
            }
        }
    }
    times
}

const COMPARISON_SAMPLES: usize = 2000;

#[test]
fn secrets_compare_in_the_same_time_wherever_they_first_differ() {
    // Long enough that `==` stopping early is plain to see.
    let kept = vec![0x5a_u8; 4096];
    let mut first = kept.clone();
    first[0] ^= 1;
    let mut last = kept.clone();
    last[4095] ^= 1;
    let given: [&[u8]; 2] = [&first, &last];
    let [early, late] = time_comparisons(&twostep_domain::codes::same_secret, &kept, given, 8);
    assert_indistinguishable("same_secret", "first byte differs", &early, "last byte differs", &late);
    // The control: the same method tells `==` apart.
    let [early, late] = time_comparisons(&|a, b| a == b, &kept, given, 64);
    let (early, late) = (trimmed(&early), trimmed(&late));
    let d = ks_statistic(&early, &late);
    assert!(
        d > ks_critical(early.len(), late.len(), ALPHA),
        "`==` not told apart (D = {d:.3}): the method cannot see a leak"
    );
    // And the codes of the sign-in: the right code, 5 of 6 digits, none.
    let right = b"492039";
    let [near, far] = time_comparisons(&twostep_domain::codes::same_secret, right, [b"492030", b"501140"], 256);
    assert_indistinguishable("same_secret on codes", "5 of 6 digits right", &near, "no digit right", &far);
}

#[test]
fn the_ks_statistic_separates_what_differs_and_not_what_does_not() {
    let a: Vec<f64> = (0..300).map(|i| 3.0 + (i % 17) as f64 * 0.01).collect();
    let b: Vec<f64> = (0..300).map(|i| 3.0 + ((i * 7) % 17) as f64 * 0.01).collect();
    assert!(ks_statistic(&a, &b) < ks_critical(300, 300, ALPHA));
    let slower: Vec<f64> = a.iter().map(|x| x + 0.05).collect();
    assert!(ks_statistic(&a, &slower) > ks_critical(300, 300, ALPHA));
    assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
}
