//! Bench: the room of `/ws/room` seen from HTTP. `GET /api/room` answers how many peers it has;
//! `POST /api/room` publishes the request body to all of them and answers how many it reached.

use nitrous::Hub;

/// How many peers the room has.
#[nitrous::get]
pub async fn members(hub: Hub) -> String {
    hub.subscriber_count("room").to_string()
}

/// Publishes the body to the room.
#[nitrous::post]
pub async fn publish(hub: Hub, body: String) -> String {
    match hub.publish("room", body) {
        Ok(reached) => reached.to_string(),
        Err(e) => format!("cannot publish: {e}"),
    }
}
