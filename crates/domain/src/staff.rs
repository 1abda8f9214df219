//! What a staff account may do, and how an admin resets a staff account's
//! lost second factor. Staff can read other people's identity documents and
//! decide who gets an account back, so their own accounts are held to more
//! than a password:
//!
//! - a staff account holds staff power only with an authenticator bound
//!   (sign-in then asks for it like anyone's);
//! - an account whose factors were reset (by an approved recovery case or
//!   by `twostep staff reset`) holds none until an admin confirms it, so a
//!   thief who got the factors reset gets no console in between;
//! - reviewers review; only admins also lift freezes, manage staff and read
//!   the whole audit log;
//! - staff never recover through the customer's self-service case: two
//!   different admins must agree to reset their factors (four eyes).

use std::fmt;

use crate::error::DomainError;
use crate::factor::Role;

/// What staff do, each checked on every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffDuty {
    /// The recovery queue, a case's evidence and documents, approval and rejection.
    Review,
    /// Lifting the freeze an owner's cancel code set.
    Unfreeze,
    /// Listing, resetting and confirming staff accounts.
    ManageStaff,
    /// Reading or exporting the audit log (everyone's, or one account's).
    ReadAuditLog,
}

impl StaffDuty {
    pub fn admin_only(self) -> bool {
        !matches!(self, StaffDuty::Review)
    }
}

/// What the rules need to know about the account asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaffStanding {
    pub role: Role,
    /// An authenticator is bound.
    pub authenticator: bool,
    /// The account's factors were reset and no admin has confirmed it since.
    pub reset_unconfirmed: bool,
}

/// Why staff power is withheld. Every refusal but `NotStaff` tells the
/// person what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffRefusal {
    NotStaff,
    NoAuthenticator,
    ResetUnconfirmed,
    AdminOnly,
    /// A staff account asked for the customer's self-service recovery.
    SelfServiceRecovery,
}

impl StaffRefusal {
    pub fn message(self) -> &'static str {
        match self {
            StaffRefusal::NotStaff => "You are not allowed to do this.",
            StaffRefusal::NoAuthenticator => {
                "Staff accounts must bind an authenticator first: bind one in your security settings (/account), \
                 then sign in again with it."
            }
            StaffRefusal::ResetUnconfirmed => {
                "The second factor of this staff account was reset; its staff access is paused until an admin \
                 confirms it (twostep staff confirm)."
            }
            StaffRefusal::AdminOnly => "Only admins may do this; reviewers review recovery cases.",
            StaffRefusal::SelfServiceRecovery => {
                "Staff accounts cannot recover through this form: ask an admin to reset your second factor \
                 (twostep staff reset)."
            }
        }
    }
}

impl fmt::Display for StaffRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// May an account with `standing` do `duty`? The checks run in the order a
/// person can fix them: bind an authenticator, be confirmed, be an admin.
pub fn check_duty(standing: &StaffStanding, duty: StaffDuty) -> Result<(), StaffRefusal> {
    if !standing.role.is_staff() {
        return Err(StaffRefusal::NotStaff);
    }
    if !standing.authenticator {
        return Err(StaffRefusal::NoAuthenticator);
    }
    if standing.reset_unconfirmed {
        return Err(StaffRefusal::ResetUnconfirmed);
    }
    if duty.admin_only() && standing.role != Role::Admin {
        return Err(StaffRefusal::AdminOnly);
    }
    Ok(())
}

/// What `twostep staff reset` can take away. The e-mail address stays: it
/// is where the staff member is told, and the account's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffResetItem {
    Authenticator,
    Phone,
}

impl StaffResetItem {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffResetItem::Authenticator => "authenticator",
            StaffResetItem::Phone => "phone",
        }
    }

    /// A comma-separated list (`authenticator,phone`), sorted, without repeats.
    pub fn parse_list(s: &str) -> Result<Vec<StaffResetItem>, DomainError> {
        let mut items = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(StaffResetItem::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        items.sort();
        items.dedup();
        if items.is_empty() {
            return Err(DomainError::invalid("items", "choose at least one of authenticator, phone"));
        }
        Ok(items)
    }

    pub fn join(items: &[StaffResetItem]) -> String {
        items.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(",")
    }
}

impl TryFrom<&str> for StaffResetItem {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s {
            "authenticator" => Ok(StaffResetItem::Authenticator),
            "phone" => Ok(StaffResetItem::Phone),
            _ => Err(DomainError::invalid("items", "must be authenticator and/or phone")),
        }
    }
}

/// A reset one admin asked for and a second must agree to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingStaffReset {
    pub items: Vec<StaffResetItem>,
    pub requested_by: String,
    pub requested_at: i64,
}

/// A request nobody agreed to within this long lapses; the next call starts over.
pub const PENDING_STAFF_RESET_TTL_S: i64 = 24 * 3600;

impl PendingStaffReset {
    pub fn is_live(&self, now: i64) -> bool {
        now < self.requested_at + PENDING_STAFF_RESET_TTL_S
    }
}

/// What an admin's `staff reset` call does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffResetStep {
    /// Record the request; nothing is reset yet.
    Request,
    /// A second admin agrees with the live request: reset now.
    Apply { first_admin: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffResetRefusal {
    /// Nobody resets their own account this way.
    OwnAccount,
    /// The admin who asked cannot also agree.
    SameAdmin,
    /// The second admin named other items than the first.
    ItemsDiffer { pending: Vec<StaffResetItem> },
}

impl fmt::Display for StaffResetRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaffResetRefusal::OwnAccount => f.write_str("an admin cannot reset their own account; ask another admin"),
            StaffResetRefusal::SameAdmin => {
                f.write_str("you asked for this reset already; a second, different admin must agree to it")
            }
            StaffResetRefusal::ItemsDiffer { pending } => write!(
                f,
                "the reset waiting for a second admin is of {}; agree to the same items, or wait for it to lapse",
                StaffResetItem::join(pending)
            ),
        }
    }
}

/// Four eyes: the first admin's call records a request, a different
/// admin's call with the same items applies it.
pub fn staff_reset_step(
    target: &str,
    pending: Option<&PendingStaffReset>,
    by: &str,
    items: &[StaffResetItem],
    now: i64,
) -> Result<StaffResetStep, StaffResetRefusal> {
    if target == by {
        return Err(StaffResetRefusal::OwnAccount);
    }
    match pending.filter(|p| p.is_live(now)) {
        None => Ok(StaffResetStep::Request),
        Some(p) if p.requested_by == by => Err(StaffResetRefusal::SameAdmin),
        Some(p) if p.items != items => Err(StaffResetRefusal::ItemsDiffer { pending: p.items.clone() }),
        Some(p) => Ok(StaffResetStep::Apply { first_admin: p.requested_by.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(role: Role, authenticator: bool, reset_unconfirmed: bool) -> StaffStanding {
        StaffStanding { role, authenticator, reset_unconfirmed }
    }

    #[test]
    fn staff_power_needs_an_authenticator_and_no_unconfirmed_reset() {
        use StaffDuty::*;
        let all = [Review, Unfreeze, ManageStaff, ReadAuditLog];
        for duty in all {
            assert_eq!(check_duty(&standing(Role::User, true, false), duty), Err(StaffRefusal::NotStaff));
            for role in [Role::Reviewer, Role::Admin] {
                assert_eq!(check_duty(&standing(role, false, false), duty), Err(StaffRefusal::NoAuthenticator));
                assert_eq!(check_duty(&standing(role, false, true), duty), Err(StaffRefusal::NoAuthenticator));
                assert_eq!(check_duty(&standing(role, true, true), duty), Err(StaffRefusal::ResetUnconfirmed));
            }
            assert_eq!(check_duty(&standing(Role::Admin, true, false), duty), Ok(()));
        }
        assert_eq!(check_duty(&standing(Role::Reviewer, true, false), Review), Ok(()));
        for duty in [Unfreeze, ManageStaff, ReadAuditLog] {
            assert_eq!(check_duty(&standing(Role::Reviewer, true, false), duty), Err(StaffRefusal::AdminOnly));
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        assert!(StaffRefusal::NoAuthenticator.message().contains("/account"));
        assert!(StaffRefusal::ResetUnconfirmed.message().contains("twostep staff confirm"));
        assert!(StaffRefusal::SelfServiceRecovery.message().contains("ask an admin"));
        assert_eq!(StaffRefusal::AdminOnly.to_string(), StaffRefusal::AdminOnly.message());
    }

    #[test]
    fn reset_items_parse() {
        use StaffResetItem::*;
        assert_eq!(StaffResetItem::parse_list("phone, authenticator,phone"), Ok(vec![Authenticator, Phone]));
        assert_eq!(StaffResetItem::join(&[Authenticator, Phone]), "authenticator,phone");
        for bad in ["", " , ", "email", "authenticator,password", "Phone"] {
            assert!(StaffResetItem::parse_list(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn two_different_admins_must_agree() {
        use StaffResetItem::*;
        let items = [Authenticator];
        let t0 = 1_000_000;
        assert_eq!(staff_reset_step("staff", None, "a1", &items, t0), Ok(StaffResetStep::Request));
        assert_eq!(staff_reset_step("a1", None, "a1", &items, t0), Err(StaffResetRefusal::OwnAccount));
        let pending = PendingStaffReset { items: items.to_vec(), requested_by: "a1".into(), requested_at: t0 };
        assert_eq!(staff_reset_step("staff", Some(&pending), "a1", &items, t0 + 5), Err(StaffResetRefusal::SameAdmin));
        assert_eq!(
            staff_reset_step("staff", Some(&pending), "a2", &[Authenticator, Phone], t0 + 5),
            Err(StaffResetRefusal::ItemsDiffer { pending: vec![Authenticator] })
        );
        assert_eq!(
            staff_reset_step("staff", Some(&pending), "a2", &items, t0 + 5),
            Ok(StaffResetStep::Apply { first_admin: "a1".into() })
        );
        // A request nobody agreed to lapses: the next call is a new request,
        // even by the admin who made the old one.
        let later = t0 + PENDING_STAFF_RESET_TTL_S;
        assert_eq!(staff_reset_step("staff", Some(&pending), "a2", &items, later), Ok(StaffResetStep::Request));
        assert_eq!(staff_reset_step("staff", Some(&pending), "a1", &items, later), Ok(StaffResetStep::Request));
    }
}
