//! The identity step (country, document type, front, back, selfie) and the
//! submission that hands the case to staff. Images are checked, decoded
//! under limits and re-encoded by the domain rules (off the async workers,
//! two at a time), then sealed for their case and slot
//! before they reach storage; nobody but staff ever reads them back. The
//! submission is a decision: its audit entry and the notice with the cancel
//! code are written in its transaction.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::document_image::normalize_country;
use twostep_domain::document_image::{CleanImage, DocumentSlot, IdType, ImageRefusal, MAX_IMAGE_BYTES, clean_image};
use twostep_domain::recovery::CaseStatus;

use super::port::{CaseChange, Effects, IdentityRecord, NewDocument};
use super::{conflict, document_context};
use crate::crypto::token_hash;
use crate::error::{AppError, AppResult};
use crate::{App, RequestMeta};

/// Images decoded at once, in the whole process: each may take up to
/// `MAX_DECODE_BYTES` and a core for a moment, so a burst of uploads waits
/// here instead of exhausting memory or the async workers.
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Decodes and re-encodes on a blocking thread.
async fn decode_image(bytes: Vec<u8>) -> AppResult<Result<CleanImage, ImageRefusal>> {
    let _turn = DECODING.acquire().await.map_err(|_| AppError::Internal("image decoding closed".into()))?;
    tokio::task::spawn_blocking(move || clean_image(&bytes))
        .await
        .map_err(|e| AppError::Internal(format!("image decoding failed: {e}")))
}

/// What the upload form carried, already read within the size limits.
#[derive(Clone, Debug, Default)]
pub struct IdentitySubmission {
    pub country: Option<String>,
    pub id_type: Option<String>,
    pub front: Option<Vec<u8>>,
    pub back: Option<Vec<u8>>,
    pub selfie: Option<Vec<u8>>,
}

impl App {
    /// Checks the case token and that the identity step is due, before an
    /// upload is read.
    pub async fn recovery_identity_precheck(
        &self,
        case_id: &str,
        case_token: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.upload_limit_by_ip(meta).await?;
        let record = self.case_for(case_id, case_token).await?;
        self.upload_limit_by_account(&record.case.account_id).await?;
        record.case.check_identity(self.now()).map_err(conflict)
    }

    /// `POST /recovery/{case_id}/identity`.
    pub async fn submit_identity(
        &self,
        case_id: &str,
        case_token: &str,
        form: IdentitySubmission,
        meta: &RequestMeta,
    ) -> AppResult<Vec<super::port::DocumentInfo>> {
        let record = self.case_for(case_id, case_token).await?;
        self.recovery_call(case_id).await?;
        record.case.check_identity(self.now()).map_err(conflict)?;
        let country =
            normalize_country(form.country.as_deref().ok_or_else(|| AppError::invalid("country", "is required"))?)?;
        let id_type =
            IdType::try_from(form.id_type.as_deref().ok_or_else(|| AppError::invalid("id_type", "is required"))?)?;
        let mut documents = Vec::new();
        // A passport has no back; one sent anyway is not kept.
        let slots = [
            (DocumentSlot::Front, form.front, true),
            (DocumentSlot::Back, form.back, id_type.needs_back()),
            (DocumentSlot::Selfie, form.selfie, true),
        ];
        for (slot, image, needed) in slots {
            if !needed {
                continue;
            }
            let name = slot.as_str();
            let bytes = image.ok_or_else(|| AppError::invalid(name, "is required"))?;
            if bytes.len() > MAX_IMAGE_BYTES {
                return Err(AppError::PayloadTooLarge(format!("{name}: at most 10 MiB")));
            }
            let clean = decode_image(bytes).await?.map_err(|e| match e {
                ImageRefusal::NotAnImage => AppError::UnsupportedMedia(format!("{name}: {e}")),
                other => AppError::invalid(name, other.to_string()),
            })?;
            documents.push(NewDocument {
                slot: name.into(),
                content_type: clean.kind.content_type().into(),
                width: i64::from(clean.width),
                height: i64::from(clean.height),
                size_bytes: clean.bytes.len() as i64,
                sealed: self.keyring.seal(&document_context(case_id, name), &clean.bytes),
            });
        }
        let identity = IdentityRecord { country, id_type: id_type.as_str().into(), documents };
        if !self.store.record_identity(case_id, record.case.version, self.now(), &identity).await? {
            return Err(AppError::Conflict("the case changed meanwhile; load it again".into()));
        }
        let slots: Vec<&str> = identity.documents.iter().map(|d| d.slot.as_str()).collect();
        let detail = format!("{} {}: {}", identity.country, identity.id_type, slots.join(","));
        self.recovery_audit(AuditKind::RecoveryIdentityUploaded, &record, meta, &detail).await?;
        Ok(self.store.case_documents(case_id).await?)
    }

    /// `POST /recovery/{case_id}/submit`: every required step done, the case
    /// goes to staff with its risk score, and the account's CURRENT channels
    /// get a notice with a cancel code ("this wasn't me").
    pub async fn submit_recovery(&self, case_id: &str, case_token: &str, meta: &RequestMeta) -> AppResult<CaseStatus> {
        let record = self.case_for(case_id, case_token).await?;
        self.recovery_call(case_id).await?;
        let now = self.now();
        record.case.check_submit(now).map_err(conflict)?;
        let assessment = self.assess_case(&record, meta).await?;
        // The same cancel code as the notice at opening: one per case.
        let cancel = self.case_cancel_code(case_id);
        let change = CaseChange::Submitted {
            risk_score: assessment.score,
            risk_signals: super::signals::signals_json(&assessment),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            cancel_token_hash: token_hash(&cancel),
        };
        // The case goes to staff with its audit entry and the notice that
        // carries its cancel code, or not at all.
        let account = self.account(&record.case.account_id).await?;
        let lang = self.language_of(&account);
        let items = self.item_list(lang, record.case.reset_items.iter().map(|i| i.as_str()));
        let body = self.text(
            lang,
            "mail-recovery-submitted-body",
            &[
                ("items", items.into()),
                ("hours", (self.settings.recovery.hold_s / 3600).into()),
                ("cancel", self.cancel_instructions(lang, &cancel).into()),
            ],
        );
        let sms = self.cancel_sms(lang, "sms-recovery-submitted", &cancel);
        let effects = Effects {
            audit: vec![self.recovery_event(
                AuditKind::RecoverySubmitted,
                &record,
                meta,
                &format!("risk {}", assessment.score),
                now,
            )],
            notices: self.current_channel_notices_short(
                &account,
                &self.text(lang, "mail-recovery-submitted-subject", &[]),
                &body,
                &sms,
            )?,
        };
        if !self.decide(&record, now, &change, &effects).await? {
            return Err(AppError::Conflict("the case changed meanwhile; load it again".into()));
        }
        Ok(CaseStatus::PendingReview)
    }
}
