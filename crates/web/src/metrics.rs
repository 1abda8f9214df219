//! HTTP request counts and latency histograms per route, rendered in the
//! Prometheus text format together with the security counters of the app
//! and the gauges read at scrape time (the outbound queue's depth).
//!
//! The series live in a Prometheus recorder of the `metrics` crate, one per
//! server rather than the process-wide one (servers sharing a process, as
//! in tests, keep their own counts). A request takes no lock of ours: it
//! looks its series up in the recorder's sharded registry and bumps atomic
//! counters; latency samples wait in a lock-free bucket until a scrape, or
//! the upkeep every few thousand requests, folds them into the histogram.
//!
//! Every label comes from a closed set: the method from the methods HTTP
//! defines, the route from the templates this server serves, anything else
//! `other`. A client choosing its own method tokens or paths therefore adds
//! at most one series, however many requests it sends.

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

const BUCKETS_S: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// The label for a request's method: a method HTTP defines, or `other`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN.iter().find(|(m, _)| m == method).map_or(OTHER, |(_, label)| label)
}

/// The label of whatever is not in a closed set.
pub const OTHER: &str = "other";

const REQUESTS: &str = "twostep_http_requests_total";
const DURATION: &str = "twostep_http_request_duration_seconds";

/// Requests between two folds of the waiting latency samples into their
/// histograms: bounds the samples kept when nobody scrapes.
const UPKEEP_EVERY: u64 = 4096;

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// "100" to "599" back to back: a status label without an allocation.
const STATUS_DIGITS: [u8; 1500] = {
    let mut digits = [0u8; 1500];
    let mut i = 0;
    while i < 500 {
        let n = 100 + i;
        digits[3 * i] = b'0' + (n / 100) as u8;
        digits[3 * i + 1] = b'0' + (n / 10 % 10) as u8;
        digits[3 * i + 2] = b'0' + (n % 10) as u8;
        i += 1;
    }
    digits
};
static STATUS_TEXT: &str = match std::str::from_utf8(&STATUS_DIGITS) {
    Ok(text) => text,
    Err(_) => panic!("digits are ASCII"),
};

fn status_label(status: u16) -> SharedString {
    match status {
        100..=599 => {
            let at = usize::from(status - 100) * 3;
            SharedString::const_str(&STATUS_TEXT[at..at + 3])
        }
        _ => SharedString::from(status.to_string()),
    }
}

pub struct HttpMetrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    observed: AtomicU64,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), &BUCKETS_S)
            .expect("buckets are given")
            .build_recorder();
        recorder.describe_counter(
            KeyName::from_const_str(REQUESTS),
            None,
            SharedString::const_str("HTTP requests by route and status."),
        );
        recorder.describe_histogram(
            KeyName::from_const_str(DURATION),
            None,
            SharedString::const_str("HTTP request latency by route."),
        );
        let handle = recorder.handle();
        Self { recorder, handle, observed: AtomicU64::new(0) }
    }
}

impl HttpMetrics {
    /// `method` is a [`method_label`]; `route` is the matched route template
    /// (or [`OTHER`]), never the raw path, so ids in paths cannot blow up the
    /// number of series.
    pub fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let labels = vec![Label::from_static_parts("method", method), Label::new("route", route.to_owned())];
        let mut with_status = labels.clone();
        with_status.push(Label::new("status", status_label(status)));
        self.recorder.register_counter(&Key::from_parts(REQUESTS, with_status), &METADATA).increment(1);
        self.recorder.register_histogram(&Key::from_parts(DURATION, labels), &METADATA).record(seconds);
        if self.observed.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// Renders the HTTP series, then `counters` and `gauges`, each given as
    /// (metric name, help, value). Those are read at scrape time and go
    /// through a recorder of their own, made for the scrape: a value that
    /// could not be read is left out rather than shown stale.
    pub fn render(&self, counters: &[(&str, &str, u64)], gauges: &[(&str, &str, i64)]) -> String {
        let mut out = self.handle.render();
        let scrape = PrometheusBuilder::new().build_recorder();
        for (name, help, value) in counters {
            scrape.describe_counter(KeyName::from(name.to_string()), None, SharedString::from(help.to_string()));
            scrape.register_counter(&Key::from_name(name.to_string()), &METADATA).absolute(*value);
        }
        for (name, help, value) in gauges {
            scrape.describe_gauge(KeyName::from(name.to_string()), None, SharedString::from(help.to_string()));
            scrape.register_gauge(&Key::from_name(name.to_string()), &METADATA).set(*value as f64);
        }
        out.push_str(&scrape.handle().render());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_keep_their_names_labels_and_buckets() {
        let m = HttpMetrics::default();
        m.observe("POST", "/api/v1/login", 200, 0.003);
        m.observe("POST", "/api/v1/login", 200, 0.2);
        m.observe("POST", "/api/v1/login", 429, 0.001);
        m.observe(OTHER, OTHER, 405, 0.0001);
        let text = m.render(
            &[("twostep_logins_ok_total", "Sign-ins.", 3)],
            &[("twostep_outbound_queue_pending", "Queued.", 2)],
        );
        let has = |line: &str| assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        has(r#"twostep_http_requests_total{method="POST",route="/api/v1/login",status="200"} 2"#);
        has(r#"twostep_http_requests_total{method="POST",route="/api/v1/login",status="429"} 1"#);
        has(r#"twostep_http_requests_total{method="other",route="other",status="405"} 1"#);
        has(r#"twostep_http_request_duration_seconds_bucket{method="POST",route="/api/v1/login",le="0.0025"} 1"#);
        has(r#"twostep_http_request_duration_seconds_bucket{method="POST",route="/api/v1/login",le="0.005"} 2"#);
        has(r#"twostep_http_request_duration_seconds_bucket{method="POST",route="/api/v1/login",le="1"} 3"#);
        has(r#"twostep_http_request_duration_seconds_bucket{method="POST",route="/api/v1/login",le="+Inf"} 3"#);
        has(r#"twostep_http_request_duration_seconds_count{method="POST",route="/api/v1/login"} 3"#);
        has("# TYPE twostep_http_requests_total counter");
        has("# TYPE twostep_http_request_duration_seconds histogram");
        has("# HELP twostep_logins_ok_total Sign-ins.");
        has("# TYPE twostep_logins_ok_total counter");
        has("twostep_logins_ok_total 3");
        has("# TYPE twostep_outbound_queue_pending gauge");
        has("twostep_outbound_queue_pending 2");
        // A gauge not given at the next scrape is not shown stale.
        assert!(!m.render(&[], &[]).contains("twostep_outbound_queue_pending"));
    }

    #[test]
    fn status_labels_are_the_codes() {
        assert_eq!(&*status_label(100), "100");
        assert_eq!(&*status_label(404), "404");
        assert_eq!(&*status_label(599), "599");
        assert_eq!(&*status_label(999), "999");
    }
}
