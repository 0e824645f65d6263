//! `nitrous::serve`: axum's server with peer addresses and graceful shutdown wired in.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until Ctrl-C or SIGTERM, then stops accepting and lets requests
/// in flight finish.
///
/// Handlers can extract the client's address with
/// `axum::extract::ConnectInfo<std::net::SocketAddr>`.
pub async fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    serve_with_shutdown(listener, router, shutdown_signal()).await
}

/// [`serve`] with your own shutdown signal: the server stops when `signal` completes.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    router: Router,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(signal)
        .await
}

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
