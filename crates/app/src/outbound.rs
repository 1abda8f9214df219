//! The durable outbound queue, seen from the use cases: every message (codes
//! and notices) is written to the database and sent later by delivery
//! workers, so a request never waits on, or fails with, a provider.
//!
//! A worker leases a due message with a conditional write, so with several
//! instances exactly one sends it; a worker that dies loses its lease and
//! another picks the message up. A failed attempt is retried with backoff;
//! after the last one the message is marked failed, counted in `/metrics`,
//! and the code it carried is retired so the user can ask for a new one at
//! once. The text is sealed at rest (it holds a live code) and wiped when
//! the message is done; it is never logged.

use std::time::Duration;

use twostep_domain::{AfterFailure, MessageStatus};

use crate::App;
use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::metrics::AuthCounters;
use crate::ports::{Channel, DeliveryError, Message, QueuedMessage};

/// How long a notice (no code) stays worth delivering.
const NOTICE_TTL_S: i64 = 24 * 3600;
const HOUR_S: i64 = 3600;
/// Messages claimed per round of a worker.
const BATCH: i64 = 8;

/// The notices sent to an address this hour.
fn notices_bucket(to: &str) -> String {
    format!("notices:to:{to}")
}

/// The context (associated data) a queued message's text is sealed under.
pub fn message_context(message_id: &str) -> String {
    format!("message:{message_id}")
}

impl App {
    /// Queues a message and wakes a worker. `code_id` names the code it
    /// carries; `expires_at` is when sending it stops making sense.
    pub async fn enqueue(&self, message: &Message, code_id: Option<&str>, expires_at: i64) -> AppResult<String> {
        self.write_queued(self.sealed_message(message, code_id, expires_at)?).await
    }

    async fn write_queued(&self, queued: QueuedMessage) -> AppResult<String> {
        self.store.enqueue_message(&queued).await?;
        self.outbound_wake.notify_one();
        Ok(queued.id)
    }

    /// A message ready for the queue, its text sealed. `enqueue` writes it
    /// on its own; a use case that must send it exactly when its change
    /// commits (every decision on a recovery case) writes it in that
    /// change's transaction and then wakes a worker.
    pub(crate) fn sealed_message(
        &self,
        message: &Message,
        code_id: Option<&str>,
        expires_at: i64,
    ) -> AppResult<QueuedMessage> {
        let id = new_id();
        let payload = zeroize::Zeroizing::new(
            serde_json::to_vec(&(&message.subject, &message.body)).map_err(|e| AppError::Internal(e.to_string()))?,
        );
        let now = self.now();
        Ok(QueuedMessage {
            sealed: self.keyring.seal(&message_context(&id), &payload),
            id,
            channel: message.channel.as_str().to_owned(),
            recipient: message.to.clone(),
            code_id: code_id.map(str::to_owned),
            status: MessageStatus::Queued,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
            expires_at,
            finished_at: None,
            last_error: String::new(),
        })
    }

    /// A notice (no code) ready for the queue; see [`App::sealed_message`].
    pub(crate) fn sealed_notice(
        &self,
        channel: Channel,
        to: &str,
        subject: &str,
        body: &str,
    ) -> AppResult<QueuedMessage> {
        let message = Message { channel, to: to.to_owned(), subject: subject.to_owned(), body: body.to_owned() };
        self.sealed_message(&message, None, self.now() + NOTICE_TTL_S)
    }

    /// Queues a notice; a failure is logged and does not undo the action.
    /// A notice of the same kind (subject) to the same address within the
    /// notice window is collapsed into the first, and once the address has
    /// had its per-destination cap of messages this hour, into the first of
    /// the hour: the owner hears of every kind of change, and a looping
    /// client cannot fill their mailbox.
    pub async fn notify(&self, channel: Channel, to: &str, subject: &str, body: &str) {
        match self.notice_due(channel, to, subject).await {
            Ok(false) => {
                tracing::debug!(channel = channel.as_str(), "notice collapsed into an earlier one");
                return;
            }
            Ok(true) => {}
            // Better a notice too many than a change the owner never hears of.
            Err(e) => tracing::warn!(error = %e, "notice window not counted"),
        }
        let queued = match self.sealed_notice(channel, to, subject, body) {
            Ok(q) => self.write_queued(q).await,
            Err(e) => Err(e),
        };
        if let Err(e) = queued {
            tracing::warn!(channel = channel.as_str(), error = %e, "notice not queued");
        }
    }

    /// Whether a notice of this kind to `to` goes now (see `notify`),
    /// counted in the database, so across instances. A notice that goes is
    /// counted against the address's cap.
    async fn notice_due(&self, channel: Channel, to: &str, subject: &str) -> AppResult<bool> {
        let now = self.now();
        let start = |window: i64| now - now.rem_euclid(window.max(1));
        let kind = format!("{}:{to}:{subject}", channel.as_str());
        let window = self.settings.costs.notice_window_s;
        if self.store.hit(&format!("notice:{kind}"), start(window)).await? > 1 {
            return Ok(false);
        }
        let this_hour = self.store.hit(&format!("notice-hour:{kind}"), start(HOUR_S)).await?;
        let sent = self.store.hits(&notices_bucket(to), start(HOUR_S)).await?;
        if this_hour > 1 && sent >= self.settings.codes_per_destination_per_hour {
            return Ok(false);
        }
        self.count_notice(to).await;
        Ok(true)
    }

    /// Counts a notice to `to` against that address's hourly cap. Notices
    /// are never refused by it (the owner must hear of a change), and they
    /// leave the caps on codes alone, so that changes cannot keep the owner
    /// from a code; what the cap does is collapse repeats harder.
    pub(crate) async fn count_notice(&self, to: &str) {
        let now = self.now();
        if let Err(e) = self.store.hit(&notices_bucket(to), now - now.rem_euclid(HOUR_S)).await {
            tracing::warn!(error = %e, "notice not counted against its address's cap");
        }
    }

    /// One round of a worker: claims and sends the messages due now.
    /// Returns how many this worker claimed.
    pub async fn deliver_due(&self) -> AppResult<usize> {
        let due = self.store.due_messages(self.now(), BATCH).await?;
        let mut claimed = 0;
        for message in due {
            let now = self.now();
            let Some(attempt) =
                self.store.claim_message(&message.id, now, now + self.settings.outbound.lease_s).await?
            else {
                continue; // another worker (perhaps another instance) won it
            };
            claimed += 1;
            self.deliver_claimed(&message, attempt).await?;
        }
        Ok(claimed)
    }

    async fn deliver_claimed(&self, queued: &QueuedMessage, attempt: i64) -> AppResult<()> {
        let now = self.now();
        let counters = &self.delivery_counters;
        let outcome = if now >= queued.expires_at {
            Err(DeliveryError::permanent("expired before it could be delivered"))
        } else {
            let message = match self.open_message(queued) {
                Ok(message) => self.dress(message).await,
                Err(e) => Err(e),
            };
            match message {
                Ok(message) => {
                    let timeout = Duration::from_millis(self.settings.outbound.send_timeout_ms);
                    match tokio::time::timeout(timeout, self.delivery.send(&message)).await {
                        Ok(result) => result,
                        Err(_) => Err(DeliveryError::temporary("the provider did not answer in time")),
                    }
                }
                Err(e) => Err(e),
            }
        };
        let error = match outcome {
            Ok(()) => {
                if self.store.finish_message(&queued.id, attempt, MessageStatus::Sent, self.now(), "").await? {
                    AuthCounters::bump(&counters.sent);
                }
                return Ok(());
            }
            Err(e) => e,
        };
        AuthCounters::bump(&counters.send_errors);
        let now = self.now();
        match self.settings.outbound.retry.after_failure(attempt, now, error.permanent, queued.expires_at) {
            AfterFailure::RetryAt(at) => {
                tracing::warn!(message_id = %queued.id, channel = %queued.channel, attempt, error = %error.reason,
                    "delivery attempt failed; will retry");
                self.store.retry_message(&queued.id, attempt, at, &error.reason).await?;
            }
            AfterFailure::GiveUp => {
                tracing::error!(message_id = %queued.id, channel = %queued.channel, attempt, error = %error.reason,
                    "message could not be delivered; giving up");
                if self.store.finish_message(&queued.id, attempt, MessageStatus::Failed, now, &error.reason).await? {
                    AuthCounters::bump(&counters.failed);
                }
                if let Some(code_id) = &queued.code_id {
                    self.store.retire_code(code_id, now).await?;
                }
            }
        }
        Ok(())
    }

    fn open_message(&self, queued: &QueuedMessage) -> Result<Message, DeliveryError> {
        let channel = Channel::parse(&queued.channel).ok_or_else(|| DeliveryError::permanent("unknown channel"))?;
        let plain = self
            .keyring
            .open(&message_context(&queued.id), &queued.sealed)
            .map_err(|e| DeliveryError::permanent(format!("cannot open the queued text: {e}")))?;
        // `plain` is wiped when dropped; the strings go on to the provider.
        let (subject, body): (String, String) =
            serde_json::from_slice(&plain).map_err(|_| DeliveryError::permanent("queued text is malformed"))?;
        Ok(Message { channel, to: queued.recipient.clone(), subject, body })
    }

    /// A delivery worker: drains what is due, then sleeps until woken by an
    /// enqueue or the poll interval. Runs until its task is dropped.
    pub async fn run_delivery_worker(self) {
        let poll = Duration::from_millis(self.settings.outbound.poll_interval_ms.max(10));
        loop {
            match self.deliver_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "delivery worker could not read the queue"),
            }
            tokio::select! {
                _ = self.outbound_wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Starts the configured number of delivery workers on the runtime,
    /// and the feed that queues the applications' webhooks and logout
    /// tokens (`oidc::feed`).
    pub fn spawn_delivery_workers(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = (0..self.settings.outbound.workers.max(1))
            .map(|_| tokio::spawn(self.clone().run_delivery_worker()))
            .collect();
        tasks.push(tokio::spawn(self.clone().run_feed()));
        tasks
    }
}
