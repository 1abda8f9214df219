//! What one unit of work of each scenario is: the requests it sends, the
//! answer it expects, and which seeded account, login attempt or solved
//! captcha the k-th unit of a run uses (each single-use thing once).

use std::time::{Duration, Instant};

use anyhow::Result;
use twostep_domain::totp;

use super::http::Conn;
use super::load::Tally;
use super::seed;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The second step with the right TOTP code (a verified second step).
    TotpValid,
    /// The second step with a wrong code (a refused second step).
    TotpWrong,
    /// The password step alone (captcha off).
    Password,
    Me,
    Healthz,
    /// Ask for an SMS code at the second step, read it from the outbox, verify it.
    SmsCodes,
    /// A whole sign-in: the password step with a solved captcha, then the
    /// second step with the right TOTP code.
    WholeSignIn,
    /// One signed-in account (in sudo mode) setting five security questions:
    /// five argon2id hashes per request until its caps answer 429.
    Questions,
    /// An application refreshing its tokens at `POST /oauth2/token`: client
    /// authentication, the refresh token rotated, a new access token and an
    /// RS256-signed ID token. Each seeded refresh token is used once.
    OidcRefresh,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::TotpValid => "totp-valid",
            Kind::TotpWrong => "totp-wrong",
            Kind::Password => "password",
            Kind::Me => "me",
            Kind::Healthz => "healthz",
            Kind::SmsCodes => "sms-codes",
            Kind::WholeSignIn => "whole-sign-in",
            Kind::Questions => "security-questions",
            Kind::OidcRefresh => "oidc-refresh",
        }
    }

    /// What an expected answer of this kind is, for the report.
    pub fn counts(self) -> &'static str {
        match self {
            Kind::TotpValid => "verified second steps (200)",
            Kind::TotpWrong => "refused second steps (401)",
            Kind::Password => "password steps (200, argon2id)",
            Kind::Me => "GET /api/v1/me (200)",
            Kind::Healthz => "GET /healthz (200)",
            Kind::SmsCodes => "SMS codes issued (202)",
            Kind::WholeSignIn => "whole sign-ins: password step with solved captcha, then TOTP (200, 200)",
            Kind::Questions => "PUT /api/v1/me/security-questions of one account (200; 429 is its caps)",
            Kind::OidcRefresh => "token endpoint refreshes: rotated, with a signed ID token (200)",
        }
    }
}

/// The seeded things a run uses: accounts `accounts_start..+accounts_len`,
/// login attempts (oidc-refresh: refresh tokens) `logins_start..+logins_len`.
#[derive(Clone, Copy, Debug)]
pub struct Pool {
    pub accounts_start: u64,
    pub accounts_len: u64,
    pub logins_start: u64,
    pub logins_len: u64,
}

/// A solved captcha challenge: (challenge id, nonce).
pub type Solved = (String, String);

pub struct Scenario {
    pub kind: Kind,
    pub pool: Pool,
    /// WholeSignIn: one solved challenge per unit.
    pub captchas: Vec<Solved>,
}

/// How a unit ended when the server answered.
pub enum Answer {
    /// As expected; the latency from the unit's start.
    Expected(Duration),
    /// Another status, and the body.
    Unexpected(u16, String),
}

/// Five own questions: the most an account may set, the most hashes a call costs.
const QUESTIONS: &str = r#"{"answers":[{"question_id":"first_pet","answer":"rex"},{"question_id":"birth_city","answer":"leeds"},{"question_id":"first_school","answer":"st mary"},{"question_id":"first_car","answer":"fiesta"},{"question_id":"first_job","answer":"paper round"}]}"#;

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Scenario {
    /// Whether unit `k` has a single-use thing left to use.
    pub fn available(&self, k: u64) -> bool {
        match self.kind {
            Kind::TotpValid | Kind::TotpWrong | Kind::SmsCodes | Kind::OidcRefresh => k < self.pool.logins_len,
            Kind::WholeSignIn => k < self.captchas.len() as u64,
            Kind::Password | Kind::Me | Kind::Healthz | Kind::Questions => true,
        }
    }

    fn account(&self, k: u64) -> u64 {
        self.pool.accounts_start + k % self.pool.accounts_len.max(1)
    }

    /// Runs unit `k`, which started (or was due) at `begin`. Errors are
    /// transport errors: the connection is then unusable.
    pub async fn perform(&self, conn: &mut Conn, k: u64, begin: Instant, inner: &mut Tally) -> Result<Answer> {
        let account = self.account(k);
        let (status, body, expect) = match self.kind {
            Kind::TotpValid | Kind::TotpWrong => {
                // Each account serves two sign-ins, at steps now and now+1
                // taken at send time: always increasing, so no code is
                // replayed, and both still inside the server's window of one
                // step either way if a step boundary passes meanwhile.
                let round = k / self.pool.accounts_len.max(1);
                let step = totp::step_at(unix_now()) + round as i64;
                let right = totp::code_at(&seed::secret(account), step * totp::STEP_S);
                let code = match self.kind {
                    Kind::TotpValid => right,
                    _ if right == "000000" => "000001".into(),
                    _ => "000000".into(),
                };
                let path = format!("/api/v1/login/{}/totp", seed::login_id(self.pool.logins_start + k));
                let (status, body) = conn.request("POST", &path, None, Some(&second_step_body(&code, account))).await?;
                (status, body, if self.kind == Kind::TotpValid { 200 } else { 401 })
            }
            Kind::Password => {
                let body = format!("{{\"email\":\"{}\",\"password\":\"{}\"}}", seed::email(account), seed::PASSWORD);
                let (status, body) = conn.request("POST", "/api/v1/login", None, Some(&body)).await?;
                (status, body, 200)
            }
            Kind::Me => {
                let (status, body) =
                    conn.request("GET", "/api/v1/me", Some(&seed::session_token(account)), None).await?;
                (status, body, 200)
            }
            Kind::Healthz => {
                let (status, body) = conn.request("GET", "/healthz", None, None).await?;
                (status, body, 200)
            }
            Kind::Questions => {
                let (status, body) = conn
                    .request(
                        "PUT",
                        "/api/v1/me/security-questions",
                        Some(&seed::session_token(account)),
                        Some(QUESTIONS),
                    )
                    .await?;
                (status, body, 200)
            }
            Kind::SmsCodes => {
                let path = format!("/api/v1/login/{}/code", seed::login_id(self.pool.logins_start + k));
                let (status, body) = conn.request("POST", &path, None, Some("{\"channel\":\"sms\"}")).await?;
                if status == 202 {
                    let issued = begin.elapsed();
                    self.finish_sms(conn, account, k, inner).await?;
                    return Ok(Answer::Expected(issued));
                }
                (status, body, 202)
            }
            Kind::WholeSignIn => return self.whole_sign_in(conn, account, k, begin).await,
            Kind::OidcRefresh => {
                let body = format!(
                    "grant_type=refresh_token&refresh_token={}",
                    seed::refresh_token(self.pool.logins_start + k)
                );
                let (status, body) = conn.form("/oauth2/token", &seed::client_authorization(), &body).await?;
                (status, body, 200)
            }
        };
        Ok(if status == expect { Answer::Expected(begin.elapsed()) } else { Answer::Unexpected(status, body) })
    }

    /// The rest of an SMS-code sign-in after the code was asked for: read it
    /// from the outbox (it arrives through the delivery queue), then verify
    /// it; the verification goes into `inner`.
    async fn finish_sms(&self, conn: &mut Conn, account: u64, k: u64, inner: &mut Tally) -> Result<()> {
        let to = seed::phone(account).replace('+', "%2B");
        let waited = Instant::now();
        let code = loop {
            let (status, body) = conn.request("GET", &format!("/api/v1/dev/outbox?to={to}"), None, None).await?;
            let code = (status == 200)
                .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
                .flatten()
                .and_then(|v| v["messages"][0]["body"].as_str().map(str::to_owned))
                .and_then(|text| twostep_domain::codes::code_in_text(&text).map(str::to_owned));
            if let Some(code) = code {
                break code;
            }
            if waited.elapsed() > Duration::from_secs(5) {
                inner.count(Answer::Unexpected(0, "no code in the outbox after 5 s".into()));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let t = Instant::now();
        let path = format!("/api/v1/login/{}/code/verify", seed::login_id(self.pool.logins_start + k));
        let body = format!("{{\"channel\":\"sms\",\"code\":\"{code}\"}}");
        let (status, body) = conn.request("POST", &path, None, Some(&body)).await?;
        inner.count(if status == 200 { Answer::Expected(t.elapsed()) } else { Answer::Unexpected(status, body) });
        Ok(())
    }

    async fn whole_sign_in(&self, conn: &mut Conn, account: u64, k: u64, begin: Instant) -> Result<Answer> {
        let (challenge_id, nonce) = &self.captchas[k as usize];
        let body = format!(
            "{{\"email\":\"{}\",\"password\":\"{}\",\"device_token\":\"{}\",\"captcha\":{{\"challenge_id\":\"{challenge_id}\",\"nonce\":\"{nonce}\"}}}}",
            seed::email(account),
            seed::PASSWORD,
            seed::device_token(account)
        );
        let (status, body) = conn.request("POST", "/api/v1/login", None, Some(&body)).await?;
        let login_id = (status == 200)
            .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
            .flatten()
            .and_then(|v| v["login_id"].as_str().map(str::to_owned));
        let Some(login_id) = login_id else { return Ok(Answer::Unexpected(status, format!("password step: {body}"))) };
        let code = totp::code_at(&seed::secret(account), unix_now());
        let path = format!("/api/v1/login/{login_id}/totp");
        let (status, body) = conn.request("POST", &path, None, Some(&second_step_body(&code, account))).await?;
        Ok(if status == 200 {
            Answer::Expected(begin.elapsed())
        } else {
            Answer::Unexpected(status, format!("second step: {body}"))
        })
    }
}

/// The body of a second step with `code`, from account `account`'s seeded
/// device.
fn second_step_body(code: &str, account: u64) -> String {
    format!("{{\"code\":\"{code}\",\"device_token\":\"{}\"}}", seed::device_token(account))
}
