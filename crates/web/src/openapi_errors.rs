//! Errors every operation can answer whatever its handler does, added to the
//! served OpenAPI document so that it describes every status a client can
//! see: a JSON body can be malformed (400), too large (413) or not JSON at
//! all (415). Found missing by the schemathesis run in `scripts/test.sh`.
//! And any may answer 503 (see `UNAVAILABLE`).

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::Ref;
use utoipa::openapi::{Content, OpenApi, RefOr, ResponseBuilder};

const BODY_ERRORS: &[(&str, &str)] = &[
    ("400", "invalid_request: the body is malformed, or a field is missing, oversized or ill-typed"),
    ("413", "payload_too_large: the body is over its limit"),
    ("415", "unsupported_media_type: the body is not sent as application/json"),
];

/// Any operation may be refused while the database is away, the password
/// hashing queue is full, or the request runs out of time.
const UNAVAILABLE: &str = "unavailable: the database is away, the service is busy, or the request took too long; \
                           retry after Retry-After seconds";

/// The routes that change what protects an account (or move funds): each
/// needs a recent proof of a factor the account has (sudo mode), and a
/// frozen account may do none of them.
const SUDO_ROUTES: &[&str] = &[
    "/api/v1/me/code",
    "/api/v1/me/sudo",
    "/api/v1/me/totp",
    "/api/v1/me/totp/confirm",
    "/api/v1/me/passkeys",
    "/api/v1/me/passkeys/registration",
    "/api/v1/me/passkeys/{passkey_id}",
    "/api/v1/me/sudo/passkey-options",
    "/api/v1/me/totp/disable",
    "/api/v1/me/phone",
    "/api/v1/me/phone/confirm",
    "/api/v1/me/password",
    "/api/v1/me/security-questions",
    "/api/v1/me/recovery/stop",
    "/api/v1/withdrawals",
];

const STEP_UP: &str = "step_up_required: confirm it is you first (POST /api/v1/me/sudo, `methods` lists the \
                       factors that count); forbidden: the account is frozen; security_hold on a withdrawal";

pub fn document_common_errors(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let sudo = SUDO_ROUTES.contains(&path.as_str());
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            add_body_errors(op);
            op.responses.responses.entry("503".to_owned()).or_insert_with(|| error_response(UNAVAILABLE));
            if sudo {
                op.responses.responses.entry("403".to_owned()).or_insert_with(|| error_response(STEP_UP));
            }
        }
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))));
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}

fn add_body_errors(op: &mut Operation) {
    let json = match &op.request_body {
        None => return,
        Some(RefOr::T(body)) => body.content.keys().any(|k| k.contains("json")),
        Some(RefOr::Ref(_)) => true,
    };
    for (status, description) in BODY_ERRORS {
        // A multipart upload answers 415 for the images' content, as its own
        // annotation says; the JSON rules fit JSON bodies only.
        if !json && *status == "415" {
            continue;
        }
        op.responses.responses.entry((*status).to_owned()).or_insert_with(|| error_response(description));
    }
}
