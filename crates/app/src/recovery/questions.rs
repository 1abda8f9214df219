//! Security questions: the account's own (set with `PUT /me/security-questions`,
//! answers normalised and kept only as argon2 hashes, never returned) and
//! questions built from account facts. During recovery both are asked and
//! scored for the reviewer; the client is never told which were right.
//!
//! Answers are hashed with argon2 rather than the code pepper because the
//! pepper changes with the master key, and these hashes must outlive a key
//! rotation.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::questions::{
    CATALOGUE, FactQuestion, MAX_ANSWER_CHARS, catalogue_text, normalize_answer, validate_own_answers,
    year_month_matches,
};

use super::conflict;
use super::port::{AnswerOutcome, CaseRecord};
use crate::error::{AppError, AppResult};
use crate::{App, RequestMeta};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub question_id: String,
    pub text: String,
}

/// What the questions step asks a case, and what the right answers are.
enum Expected {
    /// An own question: the stored hash of the normalised answer.
    Own(String),
    /// The month of this time.
    YearMonth(i64),
    /// This text, normalised.
    Text(String),
}

impl App {
    /// `GET /security-questions`: the catalogue.
    pub fn security_question_catalogue(&self) -> Vec<Question> {
        CATALOGUE.iter().map(|(id, text)| Question { question_id: (*id).into(), text: (*text).into() }).collect()
    }

    /// `PUT /me/security-questions`: replaces the account's questions.
    pub async fn set_security_questions(
        &self,
        account_id: &str,
        session_token: &str,
        answers: &[(String, String)],
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let answers = validate_own_answers(answers)?;
        let account = self.require_sudo(account_id, session_token).await?;
        self.limit_cost("security-questions", self.settings.costs.security_questions, account_id, meta).await?;
        let mut hashed = Vec::with_capacity(answers.len());
        for (id, normal) in answers {
            hashed.push((id, self.hasher.hash(&normal).await?));
        }
        self.store.set_security_answers(account_id, &hashed, self.now()).await?;
        let ids: Vec<&str> = hashed.iter().map(|(id, _)| id.as_str()).collect();
        self.audit(AuditKind::SecurityQuestionsSet, Some(account_id), meta, &ids.join(",")).await?;
        let lang = self.language_of(&account);
        let body = self.text(lang, "mail-questions-changed-body", &[]);
        let subject = self.text(lang, "mail-questions-changed-subject", &[]);
        self.notify(crate::ports::Channel::Email, &account.email, &subject, &body).await;
        if let Some(phone) = &account.phone {
            self.notify(crate::ports::Channel::Sms, phone, "", &body).await;
        }
        Ok(())
    }

    /// The questions a case asks, with what a right answer is.
    async fn case_questions(&self, record: &CaseRecord) -> AppResult<Vec<(Question, Expected)>> {
        let account_id = &record.case.account_id;
        let mut out = Vec::new();
        for own in self.store.security_answers(account_id).await? {
            if let Some(text) = catalogue_text(&own.question_id) {
                out.push((
                    Question { question_id: own.question_id, text: text.into() },
                    Expected::Own(own.answer_hash),
                ));
            }
        }
        let account = self.account(account_id).await?;
        let fact = |q: FactQuestion| Question { question_id: q.id().into(), text: q.text().into() };
        out.push((fact(FactQuestion::AccountOpened), Expected::YearMonth(account.created_at)));
        if let Some(totp) = self.store.totp_factor(account_id).await? {
            out.push((fact(FactQuestion::AuthenticatorAdded), Expected::YearMonth(totp.created_at)));
        }
        if let Some((asset, _)) = self.store.last_withdrawal(account_id).await? {
            out.push((fact(FactQuestion::LastWithdrawalAsset), Expected::Text(normalize_answer(&asset))));
        }
        Ok(out)
    }

    /// `GET /recovery/{case_id}/questions`.
    pub async fn recovery_questions(&self, case_id: &str, case_token: &str) -> AppResult<Vec<Question>> {
        let record = self.case_for(case_id, case_token).await?;
        record.case.check_answer_questions(self.now()).map_err(conflict)?;
        Ok(self.case_questions(&record).await?.into_iter().map(|(q, _)| q).collect())
    }

    /// `POST /recovery/{case_id}/answers`: scores the answers for the
    /// reviewer. Unanswered questions count as blank; the step is done once.
    pub async fn answer_recovery_questions(
        &self,
        case_id: &str,
        case_token: &str,
        answers: &[(String, String)],
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let record = self.case_for(case_id, case_token).await?;
        self.recovery_call(case_id).await?;
        record.case.check_answer_questions(self.now()).map_err(conflict)?;
        let questions = self.case_questions(&record).await?;
        for (i, (id, answer)) in answers.iter().enumerate() {
            if !questions.iter().any(|(q, _)| &q.question_id == id) {
                return Err(AppError::invalid("question_id", format!("{id:?} was not asked")));
            }
            if answers[..i].iter().any(|(seen, _)| seen == id) {
                return Err(AppError::invalid("question_id", format!("{id:?} is answered twice")));
            }
            if answer.chars().count() > MAX_ANSWER_CHARS {
                return Err(AppError::invalid("answer", "must be at most 100 characters"));
            }
        }
        let mut outcomes = Vec::with_capacity(questions.len());
        let mut right = 0;
        for (question, expected) in &questions {
            let given = answers.iter().find(|(id, _)| *id == question.question_id).map(|(_, a)| a.as_str());
            let outcome = match given.map(normalize_answer).filter(|a| !a.is_empty()) {
                None => "blank",
                Some(answer) => {
                    let ok = match expected {
                        Expected::Own(hash) => self.hasher.verify(&answer, Some(hash)).await?,
                        Expected::YearMonth(at) => year_month_matches(&answer, *at),
                        Expected::Text(text) => &answer == text,
                    };
                    right += i64::from(ok);
                    if ok { "right" } else { "wrong" }
                }
            };
            outcomes.push(AnswerOutcome { question_id: question.question_id.clone(), outcome: outcome.into() });
        }
        let recorded = self.store.record_answers(case_id, record.case.version, self.now(), &outcomes, right).await?;
        if !recorded {
            return Err(AppError::Conflict("the case changed meanwhile; load it again".into()));
        }
        self.recovery_audit(AuditKind::RecoveryQuestionsAnswered, &record, meta, &format!("{} asked", outcomes.len()))
            .await?;
        Ok(())
    }
}
