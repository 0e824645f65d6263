//! Requests and their replies (socket.io's acknowledgements): [`Requests`], and how the generated
//! router learns whether a channel answers them.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{Channel, ChannelPeer};

/// A channel that answers requests: each `request` frame gets one `reply`, with the typed reply
/// or the typed error. Without it, a request gets the notice `no-requests`.
///
/// ```
/// use nitrous::channel::{Channel, ChannelPeer, Requests};
///
/// #[derive(Default)]
/// pub struct Votes;
///
/// impl Channel for Votes {
///     type In = ();
///     type Out = ();
/// }
///
/// impl Requests for Votes {
///     type Request = u32;
///     type Reply = u32;
///     type Error = String;
///
///     async fn request(&self, _: &ChannelPeer<'_, Self>, option: u32) -> Result<u32, String> {
///         if option < 4 { Ok(option + 1) } else { Err(format!("no option {option}")) }
///     }
/// }
/// ```
pub trait Requests: Channel {
    /// What the client asks.
    type Request: DeserializeOwned + Send + 'static;
    /// The answer.
    type Reply: Serialize + Send + 'static;
    /// The answer when the request fails.
    type Error: Serialize + Send + 'static;

    /// Answers one request.
    fn request(
        &self,
        peer: &ChannelPeer<'_, Self>,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Reply, Self::Error>> + Send;
}

/// What a request came to: the reply's frame field and JSON, or why its data did not decode.
pub(super) type Answer = Result<(&'static str, String), String>;

/// A boxed future of an [`Answer`].
type Answering<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// Decodes a request's data and answers it, for a channel that implements [`Requests`].
pub type RequestHook<C> = for<'a> fn(&'a C, &'a ChannelPeer<'a, C>, &'a RawValue) -> Answering<'a>;

fn answer<'a, C: Requests>(
    channel: &'a C,
    peer: &'a ChannelPeer<'a, C>,
    data: &'a RawValue,
) -> Answering<'a> {
    Box::pin(async move {
        let request: C::Request = serde_json::from_str(data.get()).map_err(|e| e.to_string())?;
        let (field, json) = match channel.request(peer, request).await {
            Ok(reply) => ("ok", serde_json::to_string(&reply)),
            Err(error) => ("err", serde_json::to_string(&error)),
        };
        json.map(|json| (field, json)).map_err(|e| {
            tracing::error!(error = %e, "nitrous: a channel's reply does not serialize");
            format!("the server could not encode its reply: {e}")
        })
    })
}

/// Asks, in generated code where `C` is concrete, whether a channel answers requests (autoref
/// specialisation: `(&&Probe::<C>::new()).requests()`).
#[derive(Debug)]
pub struct Probe<C>(PhantomData<fn() -> C>);

impl<C> Probe<C> {
    /// The probe the generated router asks.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

/// Picked when the channel implements [`Requests`].
pub trait WithRequests<C> {
    /// Its request hook.
    fn requests(&self) -> Option<RequestHook<C>>;
}

impl<C: Requests> WithRequests<C> for &Probe<C> {
    fn requests(&self) -> Option<RequestHook<C>> {
        Some(answer::<C>)
    }
}

/// Picked otherwise: no request hook.
pub trait WithoutRequests<C> {
    /// No request hook.
    fn requests(&self) -> Option<RequestHook<C>>;
}

impl<C: Channel> WithoutRequests<C> for Probe<C> {
    fn requests(&self) -> Option<RequestHook<C>> {
        None
    }
}
