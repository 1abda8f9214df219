//! The development outbox: keeps every message in the database for a
//! developer to read (`GET /api/v1/dev/outbox`). It stands in for each
//! channel that has no provider configured.

use std::sync::Arc;

use async_trait::async_trait;
use twostep_app::crypto::new_id;
use twostep_app::ports::{Clock, Delivery, DeliveryError, Message, OutboxMessage, Store};

pub struct OutboxDelivery {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl OutboxDelivery {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

#[async_trait]
impl Delivery for OutboxDelivery {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let body = if message.subject.is_empty() {
            message.body.clone()
        } else {
            format!("{}\n\n{}", message.subject, message.body)
        };
        let record = OutboxMessage {
            id: new_id(),
            channel: message.channel.as_str().to_owned(),
            to: message.to.clone(),
            body,
            sent_at: self.clock.now(),
        };
        self.store.push_outbox(&record).await.map_err(|e| DeliveryError::temporary(e.to_string()))?;
        tracing::debug!(channel = message.channel.as_str(), "message placed in the development outbox");
        Ok(())
    }
}
