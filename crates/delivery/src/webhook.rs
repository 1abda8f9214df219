//! HTTP POSTs to applications: security webhooks, signed by the Standard
//! Webhooks scheme when they are sent (so a retry carries a fresh
//! timestamp), and back-channel logout tokens. The message's subject holds
//! the envelope (`twostep_app::oidc::feed::WebhookEnvelope`), sealed in the
//! queue like every message text; nothing of it is logged.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{KeyInit, Mac};
use twostep_app::oidc::feed::WebhookEnvelope;
use twostep_app::ports::{Delivery, DeliveryError, Message};

use crate::tls::ClientTls;

pub struct WebhookDelivery {
    client: reqwest::Client,
}

impl WebhookDelivery {
    pub fn new(timeout: Duration) -> Result<Self, String> {
        Ok(Self { client: crate::http::client(timeout, &ClientTls::default().load()?)? })
    }
}

/// The Standard Webhooks signature (`v1,<base64 HMAC-SHA256>`) of `body`
/// sent as message `id` at `timestamp`, under `secret` (`whsec_<base64>`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = data_encoding::BASE64
        .decode(secret.trim_start_matches("whsec_").as_bytes())
        .map_err(|_| "the webhook secret is not base64".to_owned())?;
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", data_encoding::BASE64.encode(&mac.finalize().into_bytes())))
}

#[async_trait]
impl Delivery for WebhookDelivery {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let envelope: WebhookEnvelope = serde_json::from_str(&message.subject)
            .map_err(|_| DeliveryError::permanent("malformed webhook envelope"))?;
        let mut request = self
            .client
            .post(&message.to)
            .header(reqwest::header::CONTENT_TYPE, envelope.content_type.as_str())
            .body(message.body.clone());
        if let (Some(id), Some(secret)) = (&envelope.webhook_id, &envelope.secret) {
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let signature = sign(secret, id, timestamp, &message.body).map_err(DeliveryError::permanent)?;
            request = request
                .header("webhook-id", id.as_str())
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature);
        }
        let response = request
            .send()
            .await
            .map_err(|e| DeliveryError::temporary(format!("webhook: {}", crate::tls::describe(&e))))?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            // The application refused this message itself: no retry helps.
            400 | 401 | 403 | 404 | 410 | 422 => Err(DeliveryError::permanent(format!("webhook: HTTP {status}"))),
            _ => Err(DeliveryError::temporary(format!("webhook: HTTP {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(sign(secret, id, 1614265330, body).unwrap(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_ne!(sign(secret, id, 1614265331, body).unwrap(), sign(secret, id, 1614265330, body).unwrap());
    }
}
