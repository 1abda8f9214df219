//! Migrations for both backends from one source. The schema uses only types
//! both databases share (TEXT, BIGINT, bytes, integer seconds for time); the
//! two spellings that differ are filled in per backend, so the two schemas
//! cannot drift apart.

use twostep_app::ports::StoreError;

use crate::Backend;

/// Ordered migrations; never edit one that has shipped, add a new one.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", CORE),
    (2, "delivery", DELIVERY),
    (3, "recovery", RECOVERY),
    (4, "audit_chain", AUDIT_CHAIN),
    (5, "authenticator_history", AUTHENTICATOR_HISTORY),
    (6, "owner_wins", OWNER_WINS),
    (7, "totp_setup_expiry", TOTP_SETUP_EXPIRY),
    (8, "master_key_check", MASTER_KEY_CHECK),
    (9, "staff_resets", STAFF_RESETS),
    (10, "languages", LANGUAGES),
    (11, "security_centre", SECURITY_CENTRE),
    (12, "devices", DEVICES),
    (13, "passkeys", PASSKEYS),
    (14, "openid_connect", OPENID_CONNECT),
    (15, "device_confirmation_factors", DEVICE_CONFIRMATION_FACTORS),
];

const CORE: &str = r#"
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email_verified_at BIGINT,
    phone TEXT,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    frozen_at BIGINT,
    withdrawals_blocked_until BIGINT,
    second_factor_failures BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX login_attempts_expires ON login_attempts (expires_at);
CREATE TABLE totp_factors (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    sealed_secret {BYTES} NOT NULL,
    last_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE totp_setups (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sealed_secret {BYTES} NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE captcha_challenges (
    id TEXT PRIMARY KEY,
    salt TEXT NOT NULL,
    difficulty_bits BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX captcha_expires ON captcha_challenges (expires_at);
CREATE TABLE sent_codes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    code_hash {BYTES} NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX sent_codes_lookup ON sent_codes (account_id, purpose, created_at);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE TABLE rate_counters (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE TABLE failures (
    id {SERIAL_PK},
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX failures_subject ON failures (subject, at);
CREATE TABLE failure_streaks (
    subject TEXT PRIMARY KEY,
    consecutive BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
CREATE TABLE audit_log (
    seq {SERIAL_PK},
    at BIGINT NOT NULL,
    account_id TEXT,
    kind TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_account ON audit_log (account_id, seq);
CREATE TABLE outbox (
    seq {SERIAL_PK},
    id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX outbox_recipient ON outbox (recipient, seq);
CREATE TABLE withdrawals (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
"#;

/// The durable outbound queue. `claimed_until` is a worker's lease and
/// `attempts` the token of its claim; `sealed_text` is wiped once done.
const DELIVERY: &str = r#"
CREATE TABLE message_queue (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sealed_text {BYTES} NOT NULL,
    code_id TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    expires_at BIGINT NOT NULL,
    finished_at BIGINT,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX message_queue_due ON message_queue (status, next_attempt_at);
"#;

/// Lost-2FA recovery. `active_account_id` holds the account id while a case
/// is open or under review and NULL once it is closed: its UNIQUE constraint
/// is the "one active case per account" rule on both backends. Step and
/// decision times are nullable `*_at` columns; `version` orders every change.
const RECOVERY: &str = r#"
CREATE TABLE security_answers (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    answer_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, question_id)
);
CREATE TABLE recovery_cases (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    active_account_id TEXT UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    required_steps TEXT NOT NULL,
    reset_items TEXT NOT NULL DEFAULT '',
    new_phone TEXT,
    new_email TEXT,
    items_at BIGINT,
    codes_sent_at BIGINT,
    phone_target TEXT,
    email_target TEXT,
    phone_verified_at BIGINT,
    email_verified_at BIGINT,
    codes_at BIGINT,
    questions_at BIGINT,
    answers_total BIGINT NOT NULL DEFAULT 0,
    answers_right BIGINT NOT NULL DEFAULT 0,
    identity_at BIGINT,
    country TEXT,
    id_type TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    open_ip TEXT NOT NULL,
    open_user_agent TEXT NOT NULL,
    submitted_at BIGINT,
    submit_ip TEXT,
    submit_user_agent TEXT,
    risk_score BIGINT,
    risk_signals TEXT,
    first_approved_by TEXT,
    first_approved_at BIGINT,
    first_approval_note TEXT,
    decided_by TEXT,
    decided_at BIGINT,
    decision_note TEXT,
    hold_until BIGINT,
    cancelled_at BIGINT,
    closed_at BIGINT,
    documents_purged_at BIGINT
);
CREATE INDEX recovery_cases_account ON recovery_cases (account_id, created_at);
CREATE INDEX recovery_cases_status ON recovery_cases (status, submitted_at);
CREATE INDEX recovery_cases_closed ON recovery_cases (closed_at);
CREATE TABLE recovery_cancel_tokens (
    token_hash TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES recovery_cases(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE TABLE recovery_answers (
    case_id TEXT NOT NULL REFERENCES recovery_cases(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (case_id, question_id)
);
CREATE TABLE recovery_documents (
    case_id TEXT NOT NULL REFERENCES recovery_cases(id) ON DELETE CASCADE,
    slot TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sealed {BYTES} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, slot)
);
"#;

/// Tamper evidence for the audit log: each entry's hash covers the entry
/// before it (see `twostep_domain::audit_chain`). `audit_head` holds one row
/// (id 1): the last hash and the entry count, so a cut-off tail shows; its
/// row lock also serialises appends on PostgreSQL. Entries written before
/// this migration are chained by `SqlStore::migrate` right after it runs.
pub const AUDIT_CHAIN_VERSION: i64 = 4;
const AUDIT_CHAIN: &str = r#"
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    last_hash TEXT NOT NULL,
    entries BIGINT NOT NULL
);
"#;

/// When an authenticator was first bound to the account (NULL: never). A
/// new authenticator on an account where one was bound before is a
/// replacement and holds withdrawals; this column, set in the transaction
/// that binds, is what decides it. Accounts from before it are filled from
/// the audit log's `totp_enrolled` entries and from a bound authenticator.
const AUTHENTICATOR_HISTORY: &str = r#"
ALTER TABLE accounts ADD COLUMN totp_first_bound_at BIGINT;
UPDATE accounts SET totp_first_bound_at = (
    SELECT MIN(audit_log.at) FROM audit_log
    WHERE audit_log.account_id = accounts.id AND audit_log.kind = 'totp_enrolled'
);
UPDATE accounts SET totp_first_bound_at = (
    SELECT totp_factors.created_at FROM totp_factors WHERE totp_factors.account_id = accounts.id
) WHERE totp_first_bound_at IS NULL;
"#;

/// The owner wins against a thief.
/// - `registrations`: a sign-up waits here, with the password it was made
///   with, until its own code confirms it; no account exists before that, so
///   a repeated sign-up can never change one.
/// - `sessions.proof_*`: the latest proof of a factor given in the session
///   (sudo mode); `sessions.epoch` the account's `security_epoch` when the
///   session was opened. Freezing or resetting an account moves the epoch,
///   so no session opened before (or racing) it works again.
/// - `former_channels`: addresses and numbers the account had before, so a
///   freeze can reach the owner where a thief has just replaced them.
/// - `accounts.owner_objected_at`: the owner used a cancel code; every later
///   recovery case of the account is high risk.
const OWNER_WINS: &str = r#"
CREATE TABLE registrations (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    code_hash {BYTES} NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX registrations_email ON registrations (email, created_at);
CREATE INDEX registrations_expires ON registrations (expires_at);
ALTER TABLE sessions ADD COLUMN proof_factor TEXT;
ALTER TABLE sessions ADD COLUMN proof_at BIGINT;
ALTER TABLE sessions ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN security_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN owner_objected_at BIGINT;
CREATE TABLE former_channels (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    replaced_at BIGINT NOT NULL
);
CREATE INDEX former_channels_account ON former_channels (account_id, replaced_at);
"#;

/// Expired authenticator enrolments are deleted when their account starts or
/// confirms another, and by the housekeeping as soon as they expire: both
/// deletes find their rows by index.
const TOTP_SETUP_EXPIRY: &str = r#"
CREATE INDEX totp_setups_by_account ON totp_setups (account_id, expires_at);
CREATE INDEX totp_setups_by_expiry ON totp_setups (expires_at);
"#;

/// The master key's public id (`MasterKey::id`, a truncated SHA-256 of the
/// key: a check value, never the key), recorded by the first instance that
/// starts on the database. An instance with another key refuses to start
/// instead of sealing values no other instance can open.
const MASTER_KEY_CHECK: &str = r#"
CREATE TABLE master_key_check (
    id BIGINT PRIMARY KEY,
    key_id TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
"#;

/// What a migration is recorded with: the SHA-256 of its source text (before
/// the per-backend spelling, so both backends record the same value). A
/// shipped migration that was edited afterwards no longer matches.
pub fn checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    twostep_app::crypto::hex(&Sha256::digest(sql.as_bytes()))
}

/// How a migration recorded in the database compares with this binary's.
pub enum Applied {
    Matches,
    /// Recorded without a checksum (by a binary from before checksums): the
    /// value to record now.
    Unrecorded(String),
}

/// Refuses a database this binary must not run on: one with a migration this
/// binary does not have (it was migrated by a newer release), or one whose
/// applied migration differs from this binary's text of it.
pub fn check_applied(version: i64, name: &str, recorded: Option<&str>) -> Result<Applied, StoreError> {
    let newest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    let Some((_, ours_name, sql)) = MIGRATIONS.iter().find(|m| m.0 == version) else {
        return Err(StoreError::other(format!(
            "the database schema is newer than this binary: it has migration {version} ({name}) and this binary \
             knows migrations up to {newest}. Run the twostep release that migrated it (or a newer one), or restore \
             a backup taken before the upgrade"
        )));
    };
    let ours = checksum(sql);
    match recorded {
        None => Ok(Applied::Unrecorded(ours)),
        Some(c) if c == ours && name == *ours_name => Ok(Applied::Matches),
        Some(c) => Err(StoreError::other(format!(
            "migration {version} ({name}) applied to this database differs from this binary's {version} ({ours_name}): \
             checksum {c}, expected {ours}. The binary and the database come from different builds of the schema; run \
             the twostep release that migrated this database"
        ))),
    }
}

/// Staff accounts after a reset. `unconfirmed_reset_at` is set by every
/// reset of an account's factors (an approved recovery case, `twostep staff
/// reset`) and cleared by an admin's `twostep staff confirm`: while it is
/// set, a staff role holds no power. `staff_resets` holds the reset one
/// admin asked for until a second agrees (one per account).
const STAFF_RESETS: &str = r#"
ALTER TABLE accounts ADD COLUMN unconfirmed_reset_at BIGINT;
CREATE TABLE staff_resets (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    items TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL
);
"#;

/// The language of an account's messages, recorded at sign-up from the
/// request (`Accept-Language`); '' means the server's `--language`, which is
/// what every account made before this migration keeps.
const LANGUAGES: &str = r#"
ALTER TABLE accounts ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE registrations ADD COLUMN language TEXT NOT NULL DEFAULT '';
"#;

/// The security centre:
/// - `password_resets`: a forgotten password's reset, opened with a code
///   sent to the account's address and finished with a proof of the
///   account's second factor (or handed to a lost-2FA case).
/// - `accounts.anti_phishing_sealed`: the owner's phrase, sealed, shown at
///   the top of every e-mail to the account.
/// - `recovery_cases.new_password_hash`: the password a case opened from a
///   reset sets when approved.
const SECURITY_CENTRE: &str = r#"
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX password_resets_account ON password_resets (account_id, created_at);
CREATE INDEX password_resets_expires ON password_resets (expires_at);
ALTER TABLE accounts ADD COLUMN anti_phishing_sealed {BYTES};
ALTER TABLE recovery_cases ADD COLUMN new_password_hash TEXT;
"#;

/// New-device confirmation. A device is a token the server issued, kept by
/// a browser (cookie) or an API client, stored as a hash; `confirmed_at` is
/// when the account's e-mail approved it. A confirmation belongs to one
/// sign-in (`login_id`), its link stored as a hash, answered once
/// (`decision` '' until then), and its session taken once (`finished_at`).
/// Sessions name the device they were opened on; `accounts.device_confirmation`
/// is the owner's choice ('' follows the server's policy, 'on', 'off').
/// `epoch` is the account's security epoch when the sign-in asked: a freeze
/// or a reset in between (which move it) leaves the approval worthless;
/// `password_digest` (SHA-256 of the password hash then) does the same for a
/// password changed or reset in between.
/// `device_id` has no foreign key: an export loads tables in name order
/// (`device_confirmations` before `devices`); the store deletes a device's
/// confirmations with it.
const DEVICES: &str = r#"
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    confirmed_at BIGINT,
    UNIQUE (account_id, token_hash)
);
CREATE INDEX devices_token ON devices (token_hash);
CREATE TABLE device_confirmations (
    login_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    link_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    decision TEXT NOT NULL DEFAULT '',
    decided_at BIGINT,
    finished_at BIGINT,
    password_digest TEXT NOT NULL,
    epoch BIGINT NOT NULL
);
CREATE INDEX device_confirmations_account ON device_confirmations (account_id);
ALTER TABLE sessions ADD COLUMN device_id TEXT;
CREATE INDEX sessions_device ON sessions (device_id);
ALTER TABLE accounts ADD COLUMN device_confirmation TEXT NOT NULL DEFAULT '';
CREATE INDEX withdrawals_account ON withdrawals (account_id);
"#;

/// Passkeys. `credential` is webauthn-rs's `Passkey` as JSON (a public key
/// and its counter: nothing secret); `sign_count` repeats the counter so a
/// use is recorded only over the count it was checked against;
/// `credential_id` (base64url) is unique across every account. A ceremony
/// under way keeps its server half in `passkey_challenges` (taken once,
/// five minutes), so every instance can finish any; `ip` says who started
/// it.
const PASSKEYS: &str = r#"
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    sign_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_account ON passkeys (account_id, created_at);
CREATE TABLE passkey_challenges (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    account_id TEXT,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);
"#;

/// The OpenID Connect provider (see `twostep_app::oidc::port`).
/// - `sessions.factors`: the factors a session signed in with, by name,
///   space-separated (the ID token's `amr`); sessions from before say none.
/// - `oidc_clients`: applications; the secret stored as its SHA-256 (it is
///   32 random bytes), the webhook secret sealed.
/// - `oidc_signing_keys`: RSA keys, the private half sealed; the newest
///   unretired one signs.
/// - `oidc_requests`: authorization requests waiting for a sign-in, a
///   proof or a consent (ten minutes); `proved_*`: the proof given for it
///   ("Confirm it's you" reached from it), by which session.
/// - `oidc_codes`: codes (a minute); `grant_id` set when exchanged, so a
///   second exchange finds the grant to end.
/// - `oidc_grants` and `oidc_tokens`: a grant per exchanged code (a
///   refresh-token family) and its tokens, as hashes; `logout_sent_at`
///   once its application was told the session ended.
/// - `oidc_consents`: what a person let an application have (for a
///   first-party one, written at its first sign-in): while it exists the
///   application knows the account (webhooks, the action check).
/// - `oidc_feed`: the audit sequence number the event feed has read up to;
///   its one row is made by the feed's first round at the end of the log,
///   so old events are never sent (and an empty database stays empty).
const OPENID_CONNECT: &str = r#"
ALTER TABLE sessions ADD COLUMN factors TEXT NOT NULL DEFAULT '';
CREATE TABLE oidc_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    first_party BIGINT NOT NULL,
    backchannel_logout_uri TEXT NOT NULL,
    webhook_url TEXT NOT NULL,
    webhook_secret {BYTES},
    created_at BIGINT NOT NULL
);
CREATE TABLE oidc_signing_keys (
    kid TEXT PRIMARY KEY,
    sealed_key {BYTES} NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE TABLE oidc_requests (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
    request TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    proved_factor TEXT,
    proved_at BIGINT,
    proved_session TEXT
);
CREATE INDEX oidc_requests_expires ON oidc_requests (expires_at);
CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    session_hash TEXT NOT NULL,
    grant_facts TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    grant_id TEXT
);
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);
CREATE TABLE oidc_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    session_hash TEXT NOT NULL,
    grant_facts TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    logout_sent_at BIGINT
);
CREATE INDEX oidc_grants_account ON oidc_grants (account_id, client_id);
CREATE INDEX oidc_codes_account ON oidc_codes (account_id, client_id);
CREATE TABLE oidc_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oidc_grants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
CREATE TABLE oidc_consents (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
CREATE TABLE oidc_feed (
    id BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
"#;

/// `device_confirmations.factors`: what the held sign-in proved (by name,
/// space-separated, as `sessions.factors`), so the session it takes once
/// approved claims them beside the mailbox; confirmations from before say
/// none (the password, then).
const DEVICE_CONFIRMATION_FACTORS: &str = r#"
ALTER TABLE device_confirmations ADD COLUMN factors TEXT NOT NULL DEFAULT '';
"#;

/// The migration's SQL spelled for `backend`.
pub fn render(sql: &str, backend: Backend) -> String {
    let (bytes, serial) = match backend {
        Backend::Sqlite => ("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
        Backend::Postgres => ("BYTEA", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    };
    sql.replace("{BYTES}", bytes).replace("{SERIAL_PK}", serial)
}
