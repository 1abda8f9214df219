//! Security holds: after a sensitive change (new second factor, password
//! reset, ...) withdrawals stay blocked until a point in time, so a thief
//! who took over an account cannot cash out before the owner notices.

/// The new hold end: a fresh event may lengthen a hold but never shorten it.
pub fn extend_hold(current_until: Option<i64>, now: i64, duration_s: i64) -> i64 {
    let proposed = now.saturating_add(duration_s);
    current_until.map_or(proposed, |c| c.max(proposed))
}

/// The end of the hold if it is still in force at `now`. A hold ending
/// exactly at `now` has ended.
pub fn active_hold(until: Option<i64>, now: i64) -> Option<i64> {
    until.filter(|&u| u > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H48: i64 = 48 * 3600;

    #[test]
    fn forty_eight_hour_hold() {
        let approved_at = 1_700_000_000;
        let until = extend_hold(None, approved_at, H48);
        assert_eq!(until, approved_at + 172_800);
        assert_eq!(active_hold(Some(until), approved_at), Some(until));
        assert_eq!(active_hold(Some(until), until - 1), Some(until));
        assert_eq!(active_hold(Some(until), until), None);
        assert_eq!(active_hold(Some(until), until + 1), None);
    }

    #[test]
    fn extending_never_shortens() {
        let now = 1_000;
        assert_eq!(extend_hold(Some(now + 10_000), now, 100), now + 10_000);
        assert_eq!(extend_hold(Some(now + 10), now, 100), now + 100);
        assert_eq!(extend_hold(Some(now - 5), now, 100), now + 100);
    }

    #[test]
    fn no_hold() {
        assert_eq!(active_hold(None, 0), None);
    }

    #[test]
    fn saturates() {
        assert_eq!(extend_hold(None, i64::MAX - 1, H48), i64::MAX);
    }
}
