//! Every kind of audit event, declared once: the name stored in the log (and
//! shown by the API's activity and audit routes). The words a person reads
//! on the activity page and in the staff console are in the message
//! catalogues (`audit-<name>` in the i18n crate's `audit.ftl`), whose tests
//! check that every kind here has them in every language.

macro_rules! audit_kinds {
    ($($variant:ident = $name:literal;)*) => {
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
    AccountCreated = "account_created";
    EmailVerified = "email_verified";
    SignupAttemptOnExisting = "signup_attempt_on_existing";
    LoginPasswordOk = "login_password_ok";
    LoginPasswordFailed = "login_password_failed";
    LoginCodeSent = "login_code_sent";
    LoginOk = "login_ok";
    SecondFactorFailed = "second_factor_failed";
    SecondFactorLocked = "second_factor_locked";
    TotpCodeReplayed = "totp_code_replayed";
    Logout = "logout";
    SudoGranted = "sudo_granted";
    StepUpFailed = "step_up_failed";
    StepUpCodeSent = "step_up_code_sent";
    TotpEnrolmentStarted = "totp_enrolment_started";
    TotpEnrolled = "totp_enrolled";
    TotpDisabled = "totp_disabled";
    PhoneBindingStarted = "phone_binding_started";
    PhoneBindingFailed = "phone_binding_failed";
    PhoneBound = "phone_bound";
    PhoneReplaced = "phone_replaced";
    PasswordChanged = "password_changed";
    SecurityQuestionsSet = "security_questions_set";
    WithdrawalRequested = "withdrawal_requested";
    WithdrawalRefusedHold = "withdrawal_refused_hold";
    RecoveryOpened = "recovery_opened";
    RecoverySuperseded = "recovery_superseded";
    RecoveryItemsChosen = "recovery_items_chosen";
    RecoveryCodesSent = "recovery_codes_sent";
    RecoveryCodesProven = "recovery_codes_proven";
    RecoveryCodeFailed = "recovery_code_failed";
    RecoveryQuestionsAnswered = "recovery_questions_answered";
    RecoveryIdentityUploaded = "recovery_identity_uploaded";
    RecoverySubmitted = "recovery_submitted";
    RecoveryFirstApproval = "recovery_first_approval";
    RecoveryApproved = "recovery_approved";
    RecoveryRejected = "recovery_rejected";
    RecoveryCancelled = "recovery_cancelled";
    RecoveryObjection = "recovery_objection";
    RecoveryRefusedStaff = "recovery_refused_staff";
    RecoveryDocumentViewed = "recovery_document_viewed";
    AccountFrozen = "account_frozen";
    AccountUnfrozen = "account_unfrozen";
    StaffApprovedRecovery = "staff_approved_recovery";
    StaffRejectedRecovery = "staff_rejected_recovery";
    StaffAdded = "staff_added";
    StaffRoleSet = "staff_role_set";
    StaffResetRequested = "staff_reset_requested";
    StaffReset = "staff_reset";
    StaffConfirmed = "staff_confirmed";
    FreezeCodeSent = "freeze_code_sent";
    FreezeRefused = "freeze_refused";
    PasswordResetRequested = "password_reset_requested";
    PasswordResetStarted = "password_reset_started";
    PasswordResetFailed = "password_reset_failed";
    PasswordReset = "password_reset";
    AntiPhishingSet = "anti_phishing_set";
    AntiPhishingRemoved = "anti_phishing_removed";
    SecondFactorOk = "second_factor_ok";
    DeviceConfirmationSent = "device_confirmation_sent";
    DeviceConfirmed = "device_confirmed";
    DeviceDenied = "device_denied";
    DeviceSignedOut = "device_signed_out";
    DeviceForgotten = "device_forgotten";
    DeviceConfirmationSetting = "device_confirmation_setting";
    PasskeyRegistered = "passkey_registered";
    PasskeyRenamed = "passkey_renamed";
    PasskeyRemoved = "passkey_removed";
    PasskeyRefused = "passkey_refused";
    PasskeyCloneSuspected = "passkey_clone_suspected";
    OidcSignedIn = "oidc_signed_in";
    OidcConsentGiven = "oidc_consent_given";
    OidcAccessRevoked = "oidc_access_revoked";
    OidcRefreshReused = "oidc_refresh_reused";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name() {
        let mut names = std::collections::HashSet::new();
        for kind in AuditKind::ALL {
            assert!(names.insert(kind.as_str()), "{kind:?} named twice");
            assert_eq!(AuditKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(AuditKind::parse("no_such_kind"), None);
    }
}
