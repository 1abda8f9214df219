//! What reaches the applications after the fact: security webhooks and
//! back-channel logout tokens, both read from the audit log and sent
//! through the outbound queue (channel `webhook`) with its retries.
//!
//! Every security event is already an audit entry written in its change's
//! transaction, so the feed reads the log after a cursor instead of each
//! use case queueing its own webhook: nothing is missed when a change
//! commits, and no use case knows about applications. The cursor moves in
//! the same transaction that queues the messages, and only from where the
//! reader found it, so of several instances one sends each batch.
//!
//! Back-channel logout: after any entry of an account, its grants whose
//! session is no longer live (signed out, signed out everywhere by a
//! password change, a recovery approval or a freeze, or expired) are told
//! once, to each application that registered a logout URI.

use openidconnect::core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm};
use openidconnect::{AdditionalClaims, Audience, IdToken, IdTokenClaims, StandardClaims, SubjectIdentifier};
use serde::{Deserialize, Serialize};
use twostep_domain::audit_kind::AuditKind;

use super::port::{EndedGrant, FeedEntry};
use super::tokens::{ID_TOKEN_TTL_S, sid_of, timestamp};
use crate::App;
use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::ports::{Channel, Message, QueuedMessage};

/// Audit entries read per round.
const FEED_BATCH: i64 = 200;
/// Ended grants told per account and round (the rest next round).
const ENDED_PER_ROUND: i64 = 500;
/// A webhook or logout token is worth delivering for a day.
const WEBHOOK_TTL_S: i64 = 24 * 3600;
/// The event of the back-channel logout token (OpenID Back-Channel Logout 1.0).
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What the delivery worker needs beside the body to send one webhook
/// request: carried sealed in the message's subject.
#[derive(Clone, Serialize, Deserialize)]
pub struct WebhookEnvelope {
    /// The body's media type.
    pub content_type: String,
    /// Standard Webhooks: the message id and the signing secret (`whsec_…`);
    /// the signature is made when the request is sent, over its timestamp.
    #[serde(default)]
    pub webhook_id: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
}

/// The claims of a back-channel logout token beside the standard ones.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub jti: String,
    pub sid: String,
    pub events: serde_json::Value,
}
impl AdditionalClaims for LogoutClaims {}

pub type LogoutToken =
    IdToken<LogoutClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// The webhook event an audit entry is, if it is one.
pub fn webhook_event(kind: &str) -> Option<&'static str> {
    let kind = AuditKind::parse(kind)?;
    Some(match kind {
        AuditKind::TotpEnrolled | AuditKind::PasskeyRegistered | AuditKind::PhoneBound => "factor.added",
        AuditKind::TotpDisabled | AuditKind::PasskeyRemoved => "factor.removed",
        AuditKind::PhoneReplaced => "phone.replaced",
        AuditKind::PasswordChanged | AuditKind::PasswordReset => "password.changed",
        AuditKind::RecoveryOpened => "recovery.opened",
        AuditKind::RecoverySubmitted => "recovery.submitted",
        AuditKind::RecoveryApproved => "recovery.approved",
        AuditKind::RecoveryRejected => "recovery.rejected",
        AuditKind::RecoveryCancelled => "recovery.cancelled",
        AuditKind::AccountFrozen => "account.frozen",
        AuditKind::AccountUnfrozen => "account.unfrozen",
        AuditKind::StaffReset => "factor.removed",
        _ => return None,
    })
}

impl App {
    /// One round of the feed: reads the log after the cursor, queues the
    /// webhooks and logout tokens it calls for, and moves the cursor.
    /// Returns how many messages it queued.
    pub async fn run_feed_once(&self) -> AppResult<usize> {
        let (from, entries) = self.store.feed_after_cursor(FEED_BATCH).await?;
        let Some(last) = entries.last().map(|e| e.seq) else {
            return Ok(0);
        };
        let mut messages = Vec::new();
        let mut told = Vec::new();
        let mut accounts: Vec<&str> = Vec::new();
        for entry in &entries {
            if let Some(event) = webhook_event(&entry.kind).filter(|_| !entry.account_id.is_empty()) {
                messages.extend(self.webhooks_for(entry, event).await?);
            }
            if !entry.account_id.is_empty() && !accounts.contains(&entry.account_id.as_str()) {
                accounts.push(&entry.account_id);
            }
        }
        let now = self.now();
        for account_id in accounts {
            // One logout token per application and session, however many
            // grants the session opened there.
            let mut sent: Vec<(String, String)> = Vec::new();
            for ended in self.store.ended_grants(account_id, now, ENDED_PER_ROUND).await? {
                let key = (ended.client_id.clone(), ended.session_hash.clone());
                if !sent.contains(&key) {
                    if let Some(message) = self.logout_message(&ended).await? {
                        messages.push(message);
                    }
                    sent.push(key);
                }
                told.push(ended.grant_id);
            }
        }
        let queued = messages.len();
        if !self.store.advance_feed(from, last, &messages, &told, now).await? {
            return Ok(0);
        }
        if queued > 0 {
            self.outbound_wake.notify_one();
        }
        Ok(queued)
    }

    /// The feed's loop: a round a second (at once again after a full
    /// batch), until its task is dropped.
    pub async fn run_feed(self) {
        loop {
            match self.run_feed_once().await {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "security event feed round failed"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    async fn webhooks_for(&self, entry: &FeedEntry, event: &str) -> AppResult<Vec<QueuedMessage>> {
        // Only applications the account had signed in to when it happened.
        let clients = self.store.clients_of_account(&entry.account_id, entry.at).await?;
        if clients.is_empty() {
            return Ok(Vec::new());
        }
        let account = self.store.account_by_id(&entry.account_id).await?;
        let hold = account.as_ref().and_then(|a| a.withdrawals_blocked_until).filter(|&u| u > entry.at);
        let frozen = account.as_ref().is_some_and(|a| a.frozen_at.is_some());
        let mut events = vec![event];
        // A change that starts (or pushes back) a hold says so too.
        if hold.is_some() && starts_hold(&entry.kind) {
            events.push("hold.started");
        }
        let mut out = Vec::new();
        for client_id in clients {
            let Some(client) = self.store.client(&client_id).await? else { continue };
            let (false, Some(sealed)) = (client.webhook_url.is_empty(), &client.webhook_secret) else { continue };
            let secret = self
                .keyring
                .open(&webhook_secret_context(&client.id), sealed)
                .map_err(|e| AppError::Internal(format!("webhook secret: {e}")))?;
            let secret = String::from_utf8_lossy(&secret).into_owned();
            for event in &events {
                let webhook_id = format!("msg_{}_{}", entry.seq, event.replace('.', "_"));
                let body = serde_json::json!({
                    "type": event,
                    "timestamp": rfc3339(entry.at),
                    "data": {
                        "sub": entry.account_id,
                        "audit_seq": entry.seq,
                        "withdrawals_blocked_until": hold,
                        "frozen": frozen,
                    },
                });
                let envelope = WebhookEnvelope {
                    content_type: "application/json".into(),
                    webhook_id: Some(webhook_id),
                    secret: Some(secret.clone()),
                };
                out.push(self.webhook_message(&client.webhook_url, &envelope, &body.to_string())?);
            }
        }
        Ok(out)
    }

    async fn logout_message(&self, ended: &EndedGrant) -> AppResult<Option<QueuedMessage>> {
        let Some(client) = self.store.client(&ended.client_id).await? else { return Ok(None) };
        if client.backchannel_logout_uri.is_empty() {
            return Ok(None);
        }
        let token = self.logout_token(&client.id, &ended.account_id, &sid_of(&ended.session_hash)).await?;
        let body = format!("logout_token={token}");
        let envelope = WebhookEnvelope {
            content_type: "application/x-www-form-urlencoded".into(),
            webhook_id: None,
            secret: None,
        };
        Ok(Some(self.webhook_message(&client.backchannel_logout_uri, &envelope, &body)?))
    }

    /// A signed logout token (OpenID Back-Channel Logout 1.0, section 2.4).
    pub async fn logout_token(&self, client_id: &str, account_id: &str, sid: &str) -> AppResult<String> {
        let (_, key) = self.signing_key().await?;
        let now = self.now();
        let issuer = self.issuer_url()?;
        let claims = IdTokenClaims::new(
            issuer,
            vec![Audience::new(client_id.to_owned())],
            timestamp(now + ID_TOKEN_TTL_S)?,
            timestamp(now)?,
            StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(account_id.to_owned())),
            LogoutClaims { jti: new_id(), sid: sid.to_owned(), events: serde_json::json!({ LOGOUT_EVENT: {} }) },
        );
        let token = LogoutToken::new(claims, key.as_ref(), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None)
            .map_err(|e| AppError::Internal(format!("signing a logout token: {e}")))?;
        Ok(token.to_string())
    }

    fn webhook_message(&self, url: &str, envelope: &WebhookEnvelope, body: &str) -> AppResult<QueuedMessage> {
        let subject = serde_json::to_string(envelope).map_err(|e| AppError::Internal(e.to_string()))?;
        let message = Message { channel: Channel::Webhook, to: url.to_owned(), subject, body: body.to_owned() };
        self.sealed_message(&message, None, self.now() + WEBHOOK_TTL_S)
    }
}

/// Whether an audit entry of this kind comes with a withdrawal hold (a
/// factor added or replaced beside another, a reset, a recovery approved).
fn starts_hold(kind: &str) -> bool {
    matches!(
        AuditKind::parse(kind),
        Some(
            AuditKind::RecoveryApproved
                | AuditKind::PasswordReset
                | AuditKind::PasswordChanged
                | AuditKind::PhoneReplaced
                | AuditKind::PhoneBound
                | AuditKind::TotpEnrolled
                | AuditKind::TotpDisabled
                | AuditKind::PasskeyRegistered
                | AuditKind::PasskeyRemoved
                | AuditKind::StaffReset
        )
    )
}

/// The context a client's webhook secret is sealed under.
pub fn webhook_secret_context(client_id: &str) -> String {
    format!("oidc-webhook-secret:{client_id}")
}

fn rfc3339(t: i64) -> String {
    timestamp(t).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}
