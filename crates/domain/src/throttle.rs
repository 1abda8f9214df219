//! Brute-force throttling rules, as pure arithmetic over failure counts the
//! caller has already gathered (per account, per IP, ...).
//!
//! Below a threshold nothing happens, so ordinary typos cost nothing. Past
//! it, each further consecutive failure doubles the wait, up to a cap: an
//! online guesser is slowed to a crawl while the real user, who is locked
//! out at most `max_delay_s`, is never locked out forever by an attacker.

/// Tunable limits for one kind of failure.
#[derive(Clone, Debug)]
pub struct FailurePolicy {
    /// How far back `recent_failures` counts, in seconds.
    pub window_s: i64,
    /// Failures within the window tolerated before any delay applies.
    pub threshold: i64,
    /// The first delay once the threshold is reached.
    pub base_delay_s: i64,
    /// Upper bound for the doubling delay.
    pub max_delay_s: i64,
    /// Consecutive second-factor failures after which the factor is locked
    /// until an out-of-band reset.
    pub lock_after_consecutive: i64,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        FailurePolicy { window_s: 900, threshold: 10, base_delay_s: 60, max_delay_s: 3600, lock_after_consecutive: 100 }
    }
}

impl FailurePolicy {
    /// The wait, in seconds, before the next attempt is allowed, or `None`
    /// if it may happen now.
    ///
    /// If failures are over the threshold but `last_failure_at` is unknown,
    /// the wait is counted from `now`: refusing is the safe side of an
    /// inconsistent input.
    pub fn retry_after(
        &self,
        now: i64,
        recent_failures: i64,
        consecutive_failures: i64,
        last_failure_at: Option<i64>,
    ) -> Option<i64> {
        if recent_failures < self.threshold {
            return None;
        }
        let doublings = consecutive_failures.saturating_sub(self.threshold).max(0);
        // 2^62 is the largest power of two an i64 holds; any more would
        // saturate anyway.
        let factor = if doublings >= 62 { i64::MAX } else { 1i64 << doublings };
        let delay = self.base_delay_s.saturating_mul(factor).min(self.max_delay_s);
        let wait_until = last_failure_at.unwrap_or(now).saturating_add(delay);
        let left = wait_until.saturating_sub(now);
        (left > 0).then_some(left)
    }

    /// Whether the second factor is locked after this many consecutive
    /// failures.
    pub fn second_factor_locked(&self, consecutive_second_factor_failures: i64) -> bool {
        consecutive_second_factor_failures >= self.lock_after_consecutive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn defaults() {
        let p = FailurePolicy::default();
        assert_eq!(
            (p.window_s, p.threshold, p.base_delay_s, p.max_delay_s, p.lock_after_consecutive),
            (900, 10, 60, 3600, 100)
        );
    }

    #[test]
    fn under_threshold_is_free() {
        let p = FailurePolicy::default();
        for n in 0..10 {
            assert_eq!(p.retry_after(NOW, n, n, Some(NOW)), None);
        }
        // Consecutive failures alone do not throttle once the window is clear.
        assert_eq!(p.retry_after(NOW, 0, 50, Some(NOW)), None);
    }

    #[test]
    fn at_threshold_waits_base_delay() {
        let p = FailurePolicy::default();
        assert_eq!(p.retry_after(NOW, 10, 10, Some(NOW)), Some(60));
        assert_eq!(p.retry_after(NOW + 59, 10, 10, Some(NOW)), Some(1));
        assert_eq!(p.retry_after(NOW + 60, 10, 10, Some(NOW)), None);
        assert_eq!(p.retry_after(NOW + 1000, 10, 10, Some(NOW)), None);
    }

    #[test]
    fn delays_double_up_to_cap() {
        let p = FailurePolicy::default();
        let got: Vec<_> = (10..=18).map(|c| p.retry_after(NOW, c, c, Some(NOW)).unwrap()).collect();
        assert_eq!(got, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(p.retry_after(NOW + 3599, 12, 40, Some(NOW)), Some(1));
        assert_eq!(p.retry_after(NOW + 3600, 12, 40, Some(NOW)), None);
    }

    #[test]
    fn fewer_consecutive_than_threshold_still_waits_base() {
        let p = FailurePolicy::default();
        assert_eq!(p.retry_after(NOW, 10, 2, Some(NOW)), Some(60));
    }

    #[test]
    fn unknown_last_failure_counts_from_now() {
        let p = FailurePolicy::default();
        assert_eq!(p.retry_after(NOW, 10, 10, None), Some(60));
    }

    #[test]
    fn huge_counts_do_not_panic() {
        let p = FailurePolicy::default();
        for c in [61, 62, 63, 64, 72, 1_000, i64::MAX, i64::MIN] {
            let r = p.retry_after(NOW, i64::MAX, c, Some(NOW));
            assert!(matches!(r, Some(60 | 3600)), "{c}: {r:?}");
        }
        assert_eq!(p.retry_after(i64::MAX, i64::MAX, i64::MAX, Some(i64::MIN)), None);
        assert_eq!(p.retry_after(i64::MIN, i64::MAX, i64::MAX, Some(i64::MAX)), Some(i64::MAX));
        let wild = FailurePolicy { base_delay_s: i64::MAX, max_delay_s: i64::MAX, ..FailurePolicy::default() };
        assert_eq!(wild.retry_after(NOW, 10, i64::MAX, Some(NOW)), Some(i64::MAX - NOW));
    }

    #[test]
    fn second_factor_lock() {
        let p = FailurePolicy::default();
        assert!(!p.second_factor_locked(99));
        assert!(p.second_factor_locked(100));
        assert!(p.second_factor_locked(i64::MAX));
    }
}
