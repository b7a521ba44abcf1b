//! `GET /api/events`: the hub's change events as server-sent events.
//!
//! Each event is `id: <seq>`, `event: <type>`, `data: <the event as JSON>` (the shapes of
//! `parachute_protocol::HubEvent`). A reader that falls behind gets one `lagged` event saying
//! how many it missed (and should re-read what it shows); the hub never waits for a reader. A
//! comment line every 15 s keeps idle connections (and proxies in front of them) open. The
//! stream ends after a `stopping` event when the hub shuts down.
//!
//! Scope `parachute:host:auth`, by bearer (`Authorization: Bearer …`), or the admin's session
//! cookie when no `Authorization` header is sent (a browser's `EventSource` cannot send
//! headers). A session of another account is refused like a missing bearer.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use parachute_protocol::HubEvent;

use crate::auth::{SCOPE_HOST_AUTH, require_scope};
use crate::error::ApiError;
use crate::state::AppState;

/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The route.
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let admin_session = !headers.contains_key(axum::http::header::AUTHORIZATION)
        && crate::routes::signin::session::signed_in(&state, &headers)?.is_some_and(|s| s.admin);
    if !admin_session {
        require_scope(&state, &headers, SCOPE_HOST_AUTH)?;
    }
    let subscription = state.events().subscribe();
    let stopping = Box::pin(state.stopping());
    let already_stopping = state.is_stopping();
    let stream = futures_util::stream::unfold(
        (subscription, stopping, already_stopping),
        |(mut sub, mut stopping, mut done)| async move {
            if done {
                return None;
            }
            let envelope = tokio::select! {
                biased;
                envelope = sub.recv() => envelope?,
                () = &mut stopping => {
                    done = true;
                    parachute_protocol::EventEnvelope {
                        seq: 0,
                        at: parachute_supervisor::epoch_ms(std::time::SystemTime::now()),
                        event: HubEvent::Stopping,
                    }
                }
            };
            if matches!(envelope.event, HubEvent::Stopping) {
                done = true;
            }
            Some((
                Ok::<_, Infallible>(to_sse(&envelope)),
                (sub, stopping, done),
            ))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

fn to_sse(envelope: &parachute_protocol::EventEnvelope) -> Event {
    let data = serde_json::to_string(&envelope.event).unwrap_or_else(|_| "{}".into());
    let event = Event::default().event(envelope.event.kind()).data(data);
    if envelope.seq > 0 {
        event.id(envelope.seq.to_string())
    } else {
        event
    }
}
