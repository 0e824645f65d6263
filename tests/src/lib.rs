//! The fixture apps of the integration tests: every file convention, served by `routes!`.

// The prefix tests mount the same routes folders a second time under other prefixes.
#![allow(clippy::duplicate_mod)]

nitrous::routes!(state = AppState);

/// The fixture's router state, reached by handlers through `State<AppState>`.
#[derive(Clone, Debug)]
pub struct AppState {
    pub greeting: &'static str,
}

/// Analog's newer layout: the routes folder has an `api/` subfolder, so nothing is prefixed.
pub mod api_layout {
    nitrous::routes!(dir = "src/api_layout");
}

/// The main fixture with the prefix turned off.
pub mod unprefixed {
    nitrous::routes!(
        dir = "src/server/routes",
        prefix = "",
        state = crate::AppState
    );
}

/// The `api/` layout with a prefix named in the call.
pub mod custom_prefix {
    nitrous::routes!(dir = "src/api_layout", prefix = "/v2");
}
