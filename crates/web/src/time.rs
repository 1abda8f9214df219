//! Times cross the API as RFC 3339 UTC strings.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn rfc3339(unix_s: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}
