//! [`HubLayer`]: how a router's routes find its hub, and the `Hub` extractor.

use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::Hub;

/// From [`Hub::layer`]: puts the hub in every request's extensions, unless an outer layer put one
/// there already.
#[derive(Clone, Debug)]
pub struct HubLayer {
    hub: Hub,
    /// A router's own hub, the one its routes fall back to.
    own: bool,
}

impl HubLayer {
    pub(super) fn new(hub: Hub, own: bool) -> HubLayer {
        HubLayer { hub, own }
    }
}

impl<S> tower::Layer<S> for HubLayer {
    type Service = WithHub<S>;

    fn layer(&self, inner: S) -> WithHub<S> {
        WithHub {
            inner,
            hub: self.hub.clone(),
            own: self.own,
        }
    }
}

/// A service with a [`HubLayer`] around it.
#[derive(Clone, Debug)]
pub struct WithHub<S> {
    inner: S,
    hub: Hub,
    own: bool,
}

impl<S: tower::Service<Request>> tower::Service<Request> for WithHub<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if request.extensions().get::<Hub>().is_none() {
            if self.own {
                super::split::own_hub_serves();
            }
            request.extensions_mut().insert(self.hub.clone());
        }
        self.inner.call(request)
    }
}

/// Extracts the router's hub, for a server-side publish from an HTTP handler.
impl<S: Send + Sync> FromRequestParts<S> for Hub {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Hub>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "nitrous: no Hub in this request; serve the router that routes! generates, or add `hub.layer()`",
        ))
    }
}
