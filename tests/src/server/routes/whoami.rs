//! `nitrous::serve` makes the client's address available to handlers.

use std::net::SocketAddr;

use nitrous::axum::extract::ConnectInfo;

#[nitrous::get]
pub async fn whoami(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
    addr.ip().to_string()
}
