//! `nitrous::serve`: axum's server with peer addresses and graceful shutdown wired in.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use tokio::net::TcpListener;

use crate::shutdown;

/// Serves `router` on `listener` until Ctrl-C or SIGTERM, then stops accepting and lets requests
/// in flight finish.
///
/// Handlers can extract the client's address with
/// `axum::extract::ConnectInfo<std::net::SocketAddr>`.
pub async fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    serve_with_shutdown(listener, router, shutdown_signal()).await
}

/// [`serve`] with your own shutdown signal. When `signal` completes the server stops accepting,
/// lets requests in flight finish, sends every WebSocket peer close code 1001 and waits (at most
/// [`SESSION_GRACE`]) for the sessions to end.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    router: Router,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (trigger, sessions) = shutdown::channel();
    let service = router
        .layer(Extension(sessions))
        .into_make_service_with_connect_info::<SocketAddr>();
    let trigger = Arc::new(trigger);
    let started = trigger.clone();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            signal.await;
            started.start();
        })
        .await?;
    let left = trigger.drained(SESSION_GRACE).await;
    if left > 0 {
        tracing::warn!(
            left,
            "nitrous: WebSocket sessions still open after the shutdown grace period"
        );
    }
    Ok(())
}

/// How long `serve` waits, after the signal, for WebSocket sessions to finish their closing
/// handshakes (each peer gets close code 1001).
pub const SESSION_GRACE: Duration = Duration::from_secs(10);

/// Completes on Ctrl-C, or on SIGTERM on Unix (what `docker stop` and systemd send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(
                "nitrous: cannot listen for Ctrl-C ({e}); stop the server with SIGTERM"
            );
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::error!(
                    "nitrous: cannot listen for SIGTERM ({e}); stop the server with Ctrl-C"
                );
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("nitrous: shutting down");
}
