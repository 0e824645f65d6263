//! The hub's presence and namespaces, in one process: who is a member, the events its subscribers
//! read in the topic's order, and topics kept apart by namespace.

use std::sync::Arc;

use super::testing::Reader;
use super::{Hub, Resume, Subscriber};
use crate::presence::{Change, Page, PresenceEvent};
use crate::topic_name::scoped;

fn join(hub: &Hub, topic: &str, reader: &Arc<Reader>, info: Option<&str>) {
    let subscriber: Arc<dyn Subscriber> = reader.clone();
    hub.join_from(topic, subscriber, Resume::Live, info.map(Arc::from));
}

/// What a reader read: presence events as `join <member> <info>` / `leave <member>`, other
/// messages as their text.
fn read(reader: &Reader) -> Vec<String> {
    reader
        .read()
        .into_iter()
        .map(|text| match PresenceEvent::parse(&text) {
            Some(event) if event.event == Change::Join => {
                format!("join {} {}", event.member, event.info)
            }
            Some(event) => format!("leave {}", event.member),
            None => text,
        })
        .collect()
}

#[tokio::test]
async fn members_joins_and_leaves_come_in_the_topics_order() {
    let hub = Hub::new();
    hub.track_presence("room:*");
    let (a, b) = (Reader::new(), Reader::new());
    let a_id = hub.inner.presence.member_id(a.id);
    let b_id = hub.inner.presence.member_id(b.id);

    join(&hub, "room:1", &a, Some(r#"{"name":"ada"}"#));
    hub.publish("room:1", "hello").unwrap();
    join(&hub, "room:1", &b, None);
    join(&hub, "room:1", &b, Some("1")); // a second subscribe is the same membership
    assert_eq!(hub.presence_count("room:1").await.count, 2);
    let page = hub.presence("room:1", Page::first(10)).await;
    assert!(!page.everywhere, "no broker: this instance's answer");
    let mut ids: Vec<&str> = page.members.iter().map(|m| m.id.as_str()).collect();
    ids.sort();
    let mut expected = vec![a_id.as_str(), b_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);

    hub.unsubscribe("room:1", a.id);
    hub.unsubscribe("room:1", a.id); // leaves once
    assert_eq!(
        read(&a),
        [
            format!("join {a_id} {{\"name\":\"ada\"}}"),
            "hello".to_owned(),
            format!("join {b_id} null"),
        ],
        "its own join first, then the topic's messages and joins in order"
    );
    assert_eq!(
        read(&b),
        [format!("join {b_id} null"), format!("leave {a_id}")]
    );
    let count = hub.presence_count("room:1").await;
    assert_eq!((count.count, count.everywhere), (1, false));
    hub.unsubscribe("room:1", b.id);
    assert_eq!(hub.presence_count("room:1").await.count, 0);
    assert!(hub.inner.presence.here().is_empty(), "nothing kept");
}

#[tokio::test]
async fn an_untracked_topic_has_no_members_and_no_events() {
    let hub = Hub::new();
    hub.track_presence("room:*");
    let reader = Reader::new();
    join(&hub, "lobby", &reader, None);
    hub.publish("lobby", "hi").unwrap();
    assert_eq!(read(&reader), ["hi"]);
    assert_eq!(hub.presence_count("lobby").await.count, 0);
}

#[test]
fn a_namespace_keeps_its_topics_apart_and_its_events_name_the_topic_plainly() {
    let hub = Hub::new();
    let support = hub.namespace("support");
    support.track_presence("chat");
    let (app_wide, inside, other) = (Reader::new(), Reader::new(), Reader::new());
    join(&hub, "chat", &app_wide, None);
    join(&hub, &scoped(Some("support"), "chat"), &inside, None);
    join(&hub, &scoped(Some("sales"), "chat"), &other, None);

    assert_eq!(support.publish("chat", "to support").unwrap(), 1);
    assert_eq!(hub.publish("chat", "to everyone").unwrap(), 1);
    assert_eq!(support.subscriber_count("chat"), 1);

    assert_eq!(read(&app_wide), ["to everyone"], "untracked, and apart");
    assert!(read(&other).is_empty());
    let texts = inside.read();
    assert_eq!(texts.len(), 2);
    let joined = PresenceEvent::parse(&texts[0]).expect("its join");
    assert_eq!(joined.topic, "chat", "the namespace is not in the event");
    assert_eq!(texts[1], "to support");
}
