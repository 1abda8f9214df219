//! Every kind of audit event, declared once: the name stored in the log (and
//! shown by the API's activity and audit routes) and the words a person
//! reads on the activity page and in the staff console.

macro_rules! audit_kinds {
    ($($variant:ident = $name:literal, $words:literal;)*) => {
        /// The kind of an audit event.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AuditKind {
            $($variant,)*
        }

        impl AuditKind {
            pub const ALL: &'static [AuditKind] = &[$(AuditKind::$variant,)*];

            /// The name stored in the log.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditKind::$variant => $name,)*
                }
            }

            /// What happened, in plain words.
            pub fn words(self) -> &'static str {
                match self {
                    $(AuditKind::$variant => $words,)*
                }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(AuditKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

audit_kinds! {
    AccountCreated = "account_created", "Account created";
    EmailVerified = "email_verified", "E-mail address confirmed";
    SignupAttemptOnExisting = "signup_attempt_on_existing", "Someone tried to sign up again with this e-mail address";
    LoginPasswordOk = "login_password_ok", "Password accepted, second step started";
    LoginPasswordFailed = "login_password_failed", "Wrong password";
    LoginCodeSent = "login_code_sent", "Sign-in code sent";
    LoginOk = "login_ok", "Signed in";
    SecondFactorFailed = "second_factor_failed", "Wrong code at the second step of a sign-in";
    SecondFactorLocked = "second_factor_locked", "Second step locked after too many wrong codes";
    TotpCodeReplayed = "totp_code_replayed", "A used authenticator code was tried again";
    Logout = "logout", "Signed out";
    SudoGranted = "sudo_granted", "Confirmed it was you for a security change";
    StepUpFailed = "step_up_failed", "A wrong code or password when confirming it was you";
    StepUpCodeSent = "step_up_code_sent", "Confirmation code sent";
    TotpEnrolmentStarted = "totp_enrolment_started", "Authenticator set-up started";
    TotpEnrolled = "totp_enrolled", "Authenticator bound";
    TotpDisabled = "totp_disabled", "Authenticator removed";
    PhoneBindingStarted = "phone_binding_started", "Phone number set-up started";
    PhoneBindingFailed = "phone_binding_failed", "Wrong code when setting up a phone number";
    PhoneBound = "phone_bound", "Phone number bound";
    PhoneReplaced = "phone_replaced", "Phone number replaced";
    PasswordChanged = "password_changed", "Password changed";
    SecurityQuestionsSet = "security_questions_set", "Security questions changed";
    WithdrawalRequested = "withdrawal_requested", "Withdrawal requested";
    WithdrawalRefusedHold = "withdrawal_refused_hold", "Withdrawal refused: withdrawals are on hold after a security change";
    RecoveryOpened = "recovery_opened", "Account recovery started";
    RecoverySuperseded = "recovery_superseded", "Account recovery replaced by a newer one";
    RecoveryItemsChosen = "recovery_items_chosen", "Account recovery: what to reset chosen";
    RecoveryCodesSent = "recovery_codes_sent", "Account recovery: codes sent";
    RecoveryCodesProven = "recovery_codes_proven", "Account recovery: codes confirmed";
    RecoveryCodeFailed = "recovery_code_failed", "Account recovery: a wrong code";
    RecoveryQuestionsAnswered = "recovery_questions_answered", "Account recovery: security questions answered";
    RecoveryIdentityUploaded = "recovery_identity_uploaded", "Account recovery: identity document uploaded";
    RecoverySubmitted = "recovery_submitted", "Account recovery sent for review";
    RecoveryFirstApproval = "recovery_first_approval", "Account recovery: first of two approvals";
    RecoveryApproved = "recovery_approved", "Account recovery approved";
    RecoveryRejected = "recovery_rejected", "Account recovery rejected";
    RecoveryCancelled = "recovery_cancelled", "Account recovery stopped";
    RecoveryObjection = "recovery_objection", "You stopped an account recovery (\"this wasn't me\")";
    RecoveryRefusedStaff = "recovery_refused_staff", "Account recovery refused: staff accounts are reset by an admin";
    RecoveryDocumentViewed = "recovery_document_viewed", "A reviewer opened an identity document";
    AccountFrozen = "account_frozen", "Account frozen";
    AccountUnfrozen = "account_unfrozen", "Account unfrozen";
    StaffApprovedRecovery = "staff_approved_recovery", "Approved an account recovery";
    StaffRejectedRecovery = "staff_rejected_recovery", "Rejected an account recovery";
    StaffAdded = "staff_added", "Staff account added";
    StaffRoleSet = "staff_role_set", "Staff role changed";
    StaffResetRequested = "staff_reset_requested", "Staff account reset requested";
    StaffReset = "staff_reset", "Staff account reset";
    StaffConfirmed = "staff_confirmed", "Staff account confirmed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name_and_words_without_internal_names() {
        let mut names = std::collections::HashSet::new();
        for kind in AuditKind::ALL {
            assert!(names.insert(kind.as_str()), "{kind:?} named twice");
            assert_eq!(AuditKind::parse(kind.as_str()), Some(*kind));
            let words = kind.words();
            assert!(!words.contains('_') && words.chars().next().is_some_and(char::is_uppercase), "{kind:?}: {words}");
        }
        assert_eq!(AuditKind::parse("no_such_kind"), None);
    }
}
