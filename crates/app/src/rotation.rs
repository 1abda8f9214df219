//! Re-sealing every secret at rest under the current master key, the work of
//! `twostep keys rotate`: authenticator secrets and setups, the identity
//! documents and selfies of recovery cases, and the texts of queued
//! messages. Each value is opened with the context its use case sealed it
//! under, sealed again under the current key and written back only if the
//! stored value is still the one read (compare-and-swap), so a value written
//! meanwhile is never overwritten. Values are read a page at a time and
//! documents one by one, so memory stays bounded however many are stored;
//! values already under the current key are not read at all, so a rotation
//! that was interrupted resumes where it stopped.

use crate::crypto::{Keyring, SealError};
use crate::outbound::message_context;
use crate::ports::{SealedSecret, SecretKind, SecretStore, StoreError};
use crate::recovery::document_context;
use crate::totp::{factor_context, setup_context};

/// Values read per page; a document (up to 10 MiB) is read alone.
fn page_size(kind: SecretKind) -> i64 {
    match kind {
        SecretKind::RecoveryDocument => 1,
        _ => 500,
    }
}

/// Passes over one kind while values keep changing under the rotation.
const MAX_SWEEPS: usize = 3;

/// The context (associated data) `secret` is sealed under: exactly the one
/// its use case seals and opens it with.
pub fn secret_context(secret: &SealedSecret) -> String {
    match secret.kind {
        SecretKind::TotpFactor => factor_context(&secret.id),
        SecretKind::TotpSetup => setup_context(&secret.id),
        SecretKind::RecoveryDocument => document_context(&secret.id, &secret.slot),
        SecretKind::QueuedMessage => message_context(&secret.id),
        SecretKind::AntiPhishingPhrase => crate::anti_phishing::phrase_context(&secret.id),
        SecretKind::SigningKey => crate::oidc::tokens::SIGNING_KEY_CONTEXT.to_owned(),
        SecretKind::WebhookSecret => crate::oidc::feed::webhook_secret_context(&secret.id),
    }
}

/// What a kind is called in the rotation's report.
pub fn kind_name(kind: SecretKind) -> &'static str {
    match kind {
        SecretKind::TotpFactor => "authenticator secrets",
        SecretKind::TotpSetup => "authenticator setups",
        SecretKind::RecoveryDocument => "identity documents",
        SecretKind::QueuedMessage => "queued messages",
        SecretKind::AntiPhishingPhrase => "anti-phishing phrases",
        SecretKind::SigningKey => "OpenID Connect signing keys",
        SecretKind::WebhookSecret => "webhook secrets",
    }
}

fn describe(secret: &SealedSecret) -> String {
    match secret.kind {
        SecretKind::TotpFactor => format!("the authenticator secret of account {}", secret.id),
        SecretKind::TotpSetup => format!("authenticator setup {}", secret.id),
        SecretKind::RecoveryDocument => format!("identity document {} of case {}", secret.slot, secret.id),
        SecretKind::QueuedMessage => format!("queued message {}", secret.id),
        SecretKind::AntiPhishingPhrase => format!("the anti-phishing phrase of account {}", secret.id),
        SecretKind::SigningKey => format!("OpenID Connect signing key {}", secret.id),
        SecretKind::WebhookSecret => format!("the webhook secret of application {}", secret.id),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value no loaded key opens: nothing after it was re-sealed.
    #[error("cannot open {what}: {error}")]
    Open { what: String, error: SealError },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Values re-sealed, per kind, in the order of [`SecretKind::ALL`].
    pub resealed: Vec<(SecretKind, u64)>,
    /// Values that kept changing while the rotation ran (an instance still
    /// running with the old key writes them) and are still under an older
    /// key.
    pub left_behind: u64,
}

impl ResealReport {
    pub fn total(&self) -> u64 {
        self.resealed.iter().map(|(_, n)| n).sum()
    }

    pub fn of(&self, kind: SecretKind) -> u64 {
        self.resealed.iter().filter(|(k, _)| *k == kind).map(|(_, n)| n).sum()
    }
}

/// Re-seals every stored secret not yet under the keyring's current key.
/// The keyring must also hold every key the values are sealed under.
pub async fn reseal_all<S: SecretStore + ?Sized>(store: &S, keyring: &Keyring) -> Result<ResealReport, ResealError> {
    let current = keyring.current_prefix();
    let mut report = ResealReport::default();
    for kind in SecretKind::ALL {
        let mut resealed = 0;
        for sweep in 1..=MAX_SWEEPS {
            let (found, done) = reseal_kind(store, keyring, kind, &current).await?;
            resealed += done;
            let changed = found - done;
            if changed == 0 {
                break;
            }
            // A value changed between its read and its write: read it again.
            if sweep == MAX_SWEEPS {
                report.left_behind += changed;
            }
        }
        report.resealed.push((kind, resealed));
    }
    Ok(report)
}

/// One pass over the values of `kind` still to re-seal: (found, re-sealed).
async fn reseal_kind<S: SecretStore + ?Sized>(
    store: &S,
    keyring: &Keyring,
    kind: SecretKind,
    current: &[u8],
) -> Result<(u64, u64), ResealError> {
    let limit = page_size(kind);
    let (mut found, mut done) = (0, 0);
    let mut after: Option<SealedSecret> = None;
    loop {
        let page = store.stale_secrets(kind, current, after.as_ref(), limit).await?;
        let full = page.len() as i64 >= limit;
        for secret in &page {
            found += 1;
            let context = secret_context(secret);
            let plain = keyring
                .open(&context, &secret.sealed)
                .map_err(|error| ResealError::Open { what: describe(secret), error })?;
            if store.reseal_secret(secret, &keyring.seal(&context, &plain)).await? {
                done += 1;
            }
        }
        match page.into_iter().last() {
            // The next page starts after this one's last key; its sealed
            // value (perhaps a whole document) is not needed for that.
            Some(last) if full => after = Some(SealedSecret { sealed: Vec::new(), ..last }),
            _ => return Ok((found, done)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::crypto::MasterKey;
    use crate::ports::StoreResult;

    /// Values in memory. The first `n` re-seals of values of row `id`
    /// (`busy`) lose their compare-and-swap to a write under the old key, as
    /// an instance still running with it would make.
    struct Memory {
        values: Mutex<Vec<SealedSecret>>,
        old: Keyring,
        busy: Mutex<(String, usize)>,
        pages: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl SecretStore for Memory {
        async fn stale_secrets(
            &self,
            kind: SecretKind,
            current: &[u8],
            after: Option<&SealedSecret>,
            limit: i64,
        ) -> StoreResult<Vec<SealedSecret>> {
            let mut values: Vec<SealedSecret> = self.values.lock().unwrap().clone();
            values.sort_by(|a, b| (&a.id, &a.slot).cmp(&(&b.id, &b.slot)));
            let page: Vec<SealedSecret> = values
                .into_iter()
                .filter(|v| v.kind == kind && !v.sealed.is_empty() && !v.sealed.starts_with(current))
                .filter(|v| after.is_none_or(|a| (&v.id, &v.slot) > (&a.id, &a.slot)))
                .take(limit as usize)
                .collect();
            self.pages.lock().unwrap().push(page.len());
            Ok(page)
        }

        async fn reseal_secret(&self, secret: &SealedSecret, new: &[u8]) -> StoreResult<bool> {
            let mut values = self.values.lock().unwrap();
            let stored =
                values.iter_mut().find(|v| v.kind == secret.kind && v.id == secret.id && v.slot == secret.slot);
            let Some(stored) = stored else { return Ok(false) };
            let mut busy = self.busy.lock().unwrap();
            if busy.0 == secret.id && busy.1 > 0 {
                busy.1 -= 1;
                stored.sealed = self.old.seal(&secret_context(secret), b"rewritten");
            }
            if stored.sealed != secret.sealed {
                return Ok(false);
            }
            stored.sealed = new.to_vec();
            Ok(true)
        }
    }

    fn memory(old_key: &MasterKey, busy: (&str, usize)) -> Memory {
        let old = Keyring::new(old_key, &[]);
        let mut values = Vec::new();
        let mut add = |kind, id: &str, slot: &str, plain: &[u8]| {
            let mut v = SealedSecret { kind, id: id.into(), slot: slot.into(), sealed: Vec::new() };
            v.sealed = old.seal(&secret_context(&v), plain);
            values.push(v);
        };
        add(SecretKind::TotpFactor, "acct", "", b"factor");
        add(SecretKind::TotpSetup, "setup", "", b"setup");
        for case in ["case-a", "case-b"] {
            for slot in ["front", "back", "selfie"] {
                add(SecretKind::RecoveryDocument, case, slot, format!("{case} {slot}").as_bytes());
            }
        }
        add(SecretKind::QueuedMessage, "msg", "", b"text");
        add(SecretKind::AntiPhishingPhrase, "other-acct", "", b"purple heron");
        add(SecretKind::SigningKey, "kid-1", "", b"-----BEGIN RSA PRIVATE KEY-----");
        add(SecretKind::WebhookSecret, "wallet", "", b"whsec_c2VjcmV0");
        // A sent message: its text is wiped and there is nothing to open.
        values.push(SealedSecret {
            kind: SecretKind::QueuedMessage,
            id: "sent".into(),
            slot: String::new(),
            sealed: Vec::new(),
        });
        Memory {
            values: Mutex::new(values),
            old,
            busy: Mutex::new((busy.0.into(), busy.1)),
            pages: Mutex::new(Vec::new()),
        }
    }

    #[tokio::test]
    async fn every_kind_is_resealed_with_its_own_context_documents_one_by_one() {
        let old_key = MasterKey::generate();
        let store = memory(&old_key, ("", 0));
        let new_key = MasterKey::generate();
        let report = reseal_all(&store, &Keyring::new(&new_key, &[old_key])).await.unwrap();
        assert_eq!(
            report.resealed,
            vec![
                (SecretKind::TotpFactor, 1),
                (SecretKind::TotpSetup, 1),
                (SecretKind::RecoveryDocument, 6),
                (SecretKind::QueuedMessage, 1),
                (SecretKind::AntiPhishingPhrase, 1),
                (SecretKind::SigningKey, 1),
                (SecretKind::WebhookSecret, 1),
            ]
        );
        assert_eq!((report.total(), report.left_behind), (12, 0));
        // Documents come one a page (six pages of one, then an empty one);
        // each other kind fits in one page.
        assert_eq!(
            store.pages.lock().unwrap().iter().filter(|n| **n == 1).count(),
            6 + 6,
            "documents, factor, setup, message, phrase, signing key, webhook secret"
        );
        let new_only = Keyring::new(&new_key, &[]);
        for v in store.values.lock().unwrap().iter().filter(|v| !v.sealed.is_empty()) {
            let plain = new_only.open(&secret_context(v), &v.sealed).unwrap();
            if v.kind == SecretKind::RecoveryDocument {
                assert_eq!(*plain, format!("{} {}", v.id, v.slot).into_bytes());
            }
        }
    }

    #[tokio::test]
    async fn a_value_rewritten_meanwhile_is_read_again_or_reported() {
        // Each document of case-b rewritten once: the next sweep re-seals
        // the new values.
        let old_key = MasterKey::generate();
        let store = memory(&old_key, ("case-b", 3));
        let new_key = MasterKey::generate();
        let keyring = Keyring::new(&new_key, std::slice::from_ref(&old_key));
        let report = reseal_all(&store, &keyring).await.unwrap();
        assert_eq!((report.of(SecretKind::RecoveryDocument), report.left_behind), (6, 0));
        let new_only = Keyring::new(&new_key, &[]);
        let values = store.values.lock().unwrap().clone();
        let rewritten: Vec<_> = values.iter().filter(|v| v.id == "case-b").collect();
        assert_eq!(rewritten.len(), 3);
        assert!(rewritten.iter().all(|v| *new_only.open(&secret_context(v), &v.sealed).unwrap() == b"rewritten"));

        // Rewritten on every sweep: left under the old key, and said so.
        let store = memory(&old_key, ("acct", usize::MAX));
        let report = reseal_all(&store, &keyring).await.unwrap();
        assert_eq!((report.of(SecretKind::TotpFactor), report.left_behind), (0, 1));
    }
}
