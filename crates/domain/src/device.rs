//! New-device confirmation, as rules without I/O: which sign-ins need the
//! e-mail's "Was this you?" (the server's policy, the owner's choice, staff),
//! what an answer to it means, and the coarse words a person sees for a
//! device (its browser, and a place derived from its IP without a geo-IP
//! database: only loopback and private ranges can be named offline).

use std::net::IpAddr;

use crate::factor::Role;

/// The server's policy (`--device-confirmation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceConfirmationPolicy {
    /// Nobody confirms new devices (tests, development).
    Off,
    /// Accounts that have asked for a withdrawal, and staff; an owner may
    /// switch it on for an account without withdrawals.
    #[default]
    Withdrawals,
    /// Every account unless its owner switched it off.
    All,
}

impl DeviceConfirmationPolicy {
    pub const ALL: &'static [DeviceConfirmationPolicy] = &[Self::Off, Self::Withdrawals, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Withdrawals => "withdrawals",
            Self::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.as_str() == s)
    }
}

/// What the account's owner chose; `Default` follows the server's policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OwnerChoice {
    #[default]
    Default,
    On,
    Off,
}

impl OwnerChoice {
    /// The stored form: '' for the default.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "",
            Self::On => "on",
            Self::Off => "off",
        }
    }

    /// An unknown stored value reads as `On`: a damaged row must not turn a
    /// defence off.
    pub fn from_stored(s: &str) -> Self {
        match s {
            "" => Self::Default,
            "off" => Self::Off,
            _ => Self::On,
        }
    }
}

/// Whether a sign-in from a device the account has not confirmed needs the
/// e-mail's confirmation. Staff always confirm unless the server has the
/// check off altogether.
pub fn must_confirm(policy: DeviceConfirmationPolicy, choice: OwnerChoice, role: Role, has_withdrawals: bool) -> bool {
    if policy == DeviceConfirmationPolicy::Off {
        return false;
    }
    if role.is_staff() {
        return true;
    }
    match choice {
        OwnerChoice::On => true,
        OwnerChoice::Off => false,
        OwnerChoice::Default => policy == DeviceConfirmationPolicy::All || has_withdrawals,
    }
}

/// The answer given with the e-mail's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceDecision {
    Approved,
    Denied,
}

impl DeviceDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approved" => Some(Self::Approved),
            "denied" => Some(Self::Denied),
            _ => None,
        }
    }
}

/// A place a person can recognise, from the IP alone: only addresses that
/// say where they are without a geo-IP database. None: say nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoarsePlace {
    /// Loopback: the server's own machine.
    ThisComputer,
    /// RFC 1918, unique-local and link-local addresses.
    PrivateNetwork,
}

impl CoarsePlace {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ThisComputer => "this_computer",
            Self::PrivateNetwork => "private_network",
        }
    }
}

pub fn coarse_place(ip: &str) -> Option<CoarsePlace> {
    let ip: IpAddr = ip.parse().ok()?;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    if ip.is_loopback() {
        return Some(CoarsePlace::ThisComputer);
    }
    let private = match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    };
    private.then_some(CoarsePlace::PrivateNetwork)
}

/// What a common user agent tells of a client: the browser family and the
/// system. The raw string is never shown, as it is whatever the client
/// chose to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    /// No user agent at all.
    Unknown,
    /// A user agent naming no family we know.
    Other,
    Known {
        family: &'static str,
        system: Option<&'static str>,
    },
}

pub fn browser(user_agent: &str) -> Browser {
    let ua = user_agent;
    let family = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else if ua.trim().is_empty() {
        return Browser::Unknown;
    } else {
        return Browser::Other;
    };
    let system = if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("CrOS") {
        Some("ChromeOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    Browser::Known { family, system }
}

/// "Firefox on Linux": the API's words for a client (the API speaks
/// English; pages and messages say it in the person's language).
pub fn browser_name(user_agent: &str) -> String {
    match browser(user_agent) {
        Browser::Unknown => "unknown".into(),
        Browser::Other => "another client".into(),
        Browser::Known { family, system: Some(system) } => format!("{family} on {system}"),
        Browser::Known { family, system: None } => family.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_confirms() {
        use DeviceConfirmationPolicy as P;
        use OwnerChoice as C;
        // Off is off, even for staff.
        assert!(!must_confirm(P::Off, C::On, Role::Admin, true));
        // Staff always confirm, whatever the owner chose.
        assert!(must_confirm(P::Withdrawals, C::Off, Role::Reviewer, false));
        // By default: accounts with withdrawals.
        assert!(must_confirm(P::Withdrawals, C::Default, Role::User, true));
        assert!(!must_confirm(P::Withdrawals, C::Default, Role::User, false));
        assert!(must_confirm(P::All, C::Default, Role::User, false));
        // The owner's choice wins for a customer account.
        assert!(!must_confirm(P::All, C::Off, Role::User, true));
        assert!(must_confirm(P::Withdrawals, C::On, Role::User, false));
    }

    #[test]
    fn stored_forms() {
        for p in DeviceConfirmationPolicy::ALL {
            assert_eq!(DeviceConfirmationPolicy::parse(p.as_str()), Some(*p));
        }
        for c in [OwnerChoice::Default, OwnerChoice::On, OwnerChoice::Off] {
            assert_eq!(OwnerChoice::from_stored(c.as_str()), c);
        }
        assert_eq!(OwnerChoice::from_stored("garbage"), OwnerChoice::On);
        assert_eq!(DeviceDecision::parse("approved"), Some(DeviceDecision::Approved));
        assert_eq!(DeviceDecision::parse(""), None);
    }

    #[test]
    fn places_only_where_the_address_says_so() {
        assert_eq!(coarse_place("127.0.0.1"), Some(CoarsePlace::ThisComputer));
        assert_eq!(coarse_place("::1"), Some(CoarsePlace::ThisComputer));
        assert_eq!(coarse_place("::ffff:127.0.0.1"), Some(CoarsePlace::ThisComputer));
        assert_eq!(coarse_place("10.1.2.3"), Some(CoarsePlace::PrivateNetwork));
        assert_eq!(coarse_place("192.168.0.10"), Some(CoarsePlace::PrivateNetwork));
        assert_eq!(coarse_place("172.16.5.4"), Some(CoarsePlace::PrivateNetwork));
        assert_eq!(coarse_place("fd00::1"), Some(CoarsePlace::PrivateNetwork));
        assert_eq!(coarse_place("fe80::1"), Some(CoarsePlace::PrivateNetwork));
        assert_eq!(coarse_place("8.8.8.8"), None);
        assert_eq!(coarse_place("2001:db8::1"), None);
        assert_eq!(coarse_place("unknown"), None);
    }

    #[test]
    fn browsers() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome on Linux");
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(browser_name(firefox), "Firefox on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_name(safari), "Safari on iOS");
        assert_eq!(browser_name("curl/8.5.0"), "curl");
        assert_eq!(browser_name(""), "unknown");
        assert_eq!(browser_name("<script>"), "another client");
    }
}
