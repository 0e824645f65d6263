//! `GET /ws/guarded?room=NAME` with `Authorization: Bearer USER`: an `upgrade` that speaks axum.
//! It reads the query into a struct, runs an extractor of its own and one that needs the app's
//! state, and refuses with the rejection of whichever fails.

use nitrous::axum::extract::{FromRef, FromRequestParts};
use nitrous::axum::http::StatusCode;
use nitrous::axum::http::request::Parts;
use nitrous::ws::{Peer, Refusal, Upgrade, UpgradeRequest, WebSocketHandler};

use crate::AppState;

/// Built from the state, which it keeps for extractors that need it.
pub struct Guarded {
    state: AppState,
}

impl FromRef<AppState> for Guarded {
    fn from_ref(state: &AppState) -> Self {
        Guarded { state: state.clone() }
    }
}

#[derive(serde::Deserialize)]
struct Join {
    room: String,
}

/// `Authorization: Bearer USER`, as an app's own extractor would read it.
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|user| Bearer(user.to_owned()))
            .ok_or((StatusCode::UNAUTHORIZED, "missing bearer token"))
    }
}

/// An extractor that needs the app's state.
pub struct Greeting(pub &'static str);

impl FromRequestParts<AppState> for Greeting {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Greeting(state.greeting))
    }
}

/// What `upgrade` found, for `open`.
struct Guest {
    user: String,
    room: String,
    greeting: &'static str,
}

impl WebSocketHandler for Guarded {
    async fn upgrade(&self, request: &UpgradeRequest) -> Result<Upgrade, Refusal> {
        let Bearer(user) = request.extract::<Bearer>().await?;
        let join: Join = request.query()?;
        let Greeting(greeting) = request.extract_with_state(&self.state).await?;
        Ok(Upgrade::accept().context(Guest { user, room: join.room, greeting }))
    }

    async fn open(&self, peer: &Peer) {
        if let Some(guest) = peer.context::<Guest>() {
            peer.send(format!("{} in {}: {}", guest.user, guest.room, guest.greeting));
        }
    }
}
