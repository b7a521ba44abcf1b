//! The hub's event bus: every change is emitted where it happens and fanned out to in-process
//! subscribers (the desktop tray, tests) and `GET /api/events` streams.
//!
//! Emitting never blocks: the bus is a bounded broadcast channel, and a subscriber that falls
//! more than its capacity behind loses the oldest events — it is then handed one
//! [`HubEvent::Lagged`] saying how many it missed, so it knows to re-read the state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parachute_protocol::{EventEnvelope, HubEvent};
use tokio::sync::broadcast;

/// Sends events to every subscriber. Cheap to clone; clones share the sequence.
#[derive(Clone)]
pub struct EventBus {
    /// The fan-out channel.
    tx: broadcast::Sender<EventEnvelope>,
    /// The next sequence number (events are numbered from 1 in the order they were emitted).
    seq: Arc<AtomicU64>,
}

impl EventBus {
    /// A bus whose subscribers may each fall `capacity` events behind.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity.max(1)).0,
            seq: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Emits `event` to every current subscriber (none is fine). Never blocks.
    pub fn emit(&self, event: HubEvent) {
        // Number and send under one step per event so subscribers see numbers in order.
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let envelope = EventEnvelope {
            seq,
            at: parachute_supervisor::epoch_ms(std::time::SystemTime::now()),
            event,
        };
        tracing::trace!(seq, kind = envelope.event.kind(), "event");
        let _ = self.tx.send(envelope);
    }

    /// A subscription to every event emitted from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.tx.subscribe(),
        }
    }

    /// How many subscribers are listening (the SSE route and tests use it).
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// One subscriber's view of the bus.
pub struct Subscription {
    /// The broadcast receiver.
    rx: broadcast::Receiver<EventEnvelope>,
}

impl Subscription {
    /// The next event; a [`HubEvent::Lagged`] (with seq 0) when this subscriber missed some;
    /// `None` once the hub is gone.
    pub async fn recv(&mut self) -> Option<EventEnvelope> {
        match self.rx.recv().await {
            Ok(envelope) => Some(envelope),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(lagged(missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// [`Subscription::recv`] for a thread outside the runtime (a CLI printer thread).
    pub fn blocking_recv(&mut self) -> Option<EventEnvelope> {
        match self.rx.blocking_recv() {
            Ok(envelope) => Some(envelope),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(lagged(missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

fn lagged(missed: u64) -> EventEnvelope {
    EventEnvelope {
        seq: 0,
        at: parachute_supervisor::epoch_ms(std::time::SystemTime::now()),
        event: HubEvent::Lagged { missed },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_events_in_order_and_a_lag_once() {
        let bus = EventBus::new(4);
        let mut early = bus.subscribe();
        bus.emit(HubEvent::Stopping);
        let first = early.recv().await.unwrap();
        assert_eq!(first.event, HubEvent::Stopping);
        for n in 0..10 {
            bus.emit(HubEvent::Lagged { missed: n });
        }
        let next = early.recv().await.unwrap();
        assert_eq!(
            next.event,
            HubEvent::Lagged { missed: 6 },
            "told how many it missed"
        );
        let seqs: Vec<u64> = [(); 4]
            .iter()
            .map(|_| futures_now(early.recv()).unwrap().seq)
            .collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert_eq!(seqs[0], first.seq + 7);
    }

    fn futures_now<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("ready")
    }
}
