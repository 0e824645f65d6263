//! What a hub tells a broker of presence, and asks it ([`Broker::presence`](super::Broker::presence),
//! [`Broker::presence_query`](super::Broker::presence_query)).

use std::sync::Arc;

use super::Envelope;
use super::reply::Reply;
use crate::presence::{Change, Member, Page};

/// A member of a tracked topic joined or left on this instance: for the shared view, and the
/// event for the other instances' subscribers.
#[derive(Clone, Debug)]
pub struct PresenceChange {
    pub(crate) topic: String,
    pub(crate) change: Change,
    pub(crate) member: String,
    pub(crate) info: Arc<str>,
    pub(crate) envelope: Envelope,
}

impl PresenceChange {
    /// The topic (as the hub names it).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// A join or a leave.
    pub fn change(&self) -> Change {
        self.change
    }

    /// The member's id.
    pub fn member(&self) -> &str {
        &self.member
    }

    /// The member's info, JSON.
    pub fn info(&self) -> &str {
        &self.info
    }

    /// The presence message to publish on the topic for the other instances.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

/// A tracked topic's members on this instance, as (id, info as JSON): what a broker that shares
/// presence refreshes ([`Inbox::presence_here`](super::Inbox::presence_here)).
#[derive(Clone, Debug)]
pub struct MembersHere {
    /// The topic (as the hub names it).
    pub topic: String,
    /// Its members here.
    pub members: Vec<(String, Arc<str>)>,
}

/// What a [`PresenceQuery`] asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceAsk {
    /// How many members the topic has on every instance.
    Count,
    /// A page of them.
    Page(Page),
}

/// A broker's answer to a [`PresenceQuery`].
#[derive(Clone, Debug, PartialEq)]
pub enum PresenceAnswer {
    /// The count.
    Count(usize),
    /// The page, and the cursor of the next one (`None` on the last).
    Page(Vec<Member>, Option<String>),
}

/// The hub's question to a broker that shares presence: who is on `topic` across instances.
/// Dropped unanswered, it counts as failed (the hub answers from this instance).
pub struct PresenceQuery {
    topic: String,
    ask: PresenceAsk,
    reply: Reply<PresenceAnswer>,
}

impl PresenceQuery {
    pub(crate) fn new(
        topic: &str,
        ask: PresenceAsk,
        answer: impl FnOnce(Option<PresenceAnswer>) + Send + 'static,
    ) -> PresenceQuery {
        PresenceQuery {
            topic: topic.to_owned(),
            ask,
            reply: Reply::new(answer),
        }
    }

    /// The topic (as the hub names it).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// What it asks.
    pub fn ask(&self) -> &PresenceAsk {
        &self.ask
    }

    /// Answers it.
    pub fn answer(mut self, answer: PresenceAnswer) {
        self.reply.send(Some(answer));
    }

    /// The broker cannot answer: the hub answers from this instance.
    pub fn fail(mut self) {
        self.reply.send(None);
    }
}

impl std::fmt::Debug for PresenceQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceQuery")
            .field("topic", &self.topic)
            .field("ask", &self.ask)
            .finish()
    }
}
