//! HTTP request counts and latency histograms per route, rendered in the
//! Prometheus text format together with the security counters of the app
//! and the gauges read at scrape time (the outbound queue's depth).
//!
//! Every label comes from a closed set: the method from the methods HTTP
//! defines, the route from the templates this server serves, anything else
//! `other`. A client choosing its own method tokens or paths therefore adds
//! at most one series, however many requests it sends.

use std::collections::BTreeMap;
use std::sync::Mutex;

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

#[derive(Default)]
struct RouteStats {
    count_by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS_S.len()],
    sum_s: f64,
    count: u64,
}

#[derive(Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<(&'static str, String), RouteStats>>,
}

impl HttpMetrics {
    /// `method` is a [`method_label`]; `route` is the matched route template
    /// (or [`OTHER`]), never the raw path, so ids in paths cannot blow up the
    /// number of series.
    pub fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let key = (method, route.to_owned());
        let stats = match routes.get_mut(&key) {
            Some(stats) => stats,
            None => routes.entry(key).or_default(),
        };
        *stats.count_by_status.entry(status).or_default() += 1;
        for (i, le) in BUCKETS_S.iter().enumerate() {
            if seconds <= *le {
                stats.buckets[i] += 1;
            }
        }
        stats.sum_s += seconds;
        stats.count += 1;
    }

    /// Renders the HTTP series, then `counters` and `gauges`, each given as
    /// (metric name, help, value).
    pub fn render(&self, counters: &[(&str, &str, u64)], gauges: &[(&str, &str, i64)]) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP twostep_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE twostep_http_requests_total counter\n");
        for ((method, route), stats) in routes.iter() {
            for (status, n) in &stats.count_by_status {
                let _ = writeln!(
                    out,
                    "twostep_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP twostep_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE twostep_http_request_duration_seconds histogram\n");
        for ((method, route), stats) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (i, le) in BUCKETS_S.iter().enumerate() {
                let _ = writeln!(out, "twostep_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}", stats.buckets[i]);
            }
            let _ = writeln!(out, "twostep_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "twostep_http_request_duration_seconds_sum{{{labels}}} {}", stats.sum_s);
            let _ = writeln!(out, "twostep_http_request_duration_seconds_count{{{labels}}} {}", stats.count);
        }
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}
