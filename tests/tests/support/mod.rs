//! A fixture router served by `nitrous::serve(..).with_graceful_shutdown(..)` on a real socket at `127.0.0.1:0`.

#![allow(dead_code)] // each test binary uses its own part of the support module

pub(crate) mod certs;
pub(crate) mod fixture;
pub(crate) mod h2;
pub(crate) mod h2_raw;
pub(crate) mod log;
pub(crate) mod raw;
pub(crate) mod redis;
pub(crate) mod sse;
pub(crate) mod wait;
pub(crate) mod ws;

use std::net::SocketAddr;

use nitrous::axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server; dropping it does not stop it, [`Server::stop`] does.
pub(crate) struct Server {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds first, so the address is known before any client connects.
    pub(crate) async fn start(router: Router) -> Server {
        Server::start_with(router, |serve| serve).await
    }

    /// [`Server::start`], with `configure` changing the server's settings (TLS, limits).
    pub(crate) async fn start_with(
        router: Router,
        configure: impl FnOnce(nitrous::Serve) -> nitrous::Serve,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = configure(nitrous::serve(listener, router)).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(served.into_future());
        Server { addr, stop, task }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends the shutdown signal and waits for the server to exit.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("server task")
            .expect("server exits cleanly");
    }
}

/// `GET url`, returning the status and body.
pub(crate) async fn get(url: &str) -> (u16, String) {
    request(reqwest::Method::GET, url).await
}

pub(crate) async fn request(method: reqwest::Method, url: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .request(method, url)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}
