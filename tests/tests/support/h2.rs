//! HTTP/2 clients on real sockets: cleartext with prior knowledge (h2c), and over TLS with ALPN
//! trusting a test CA; a WebSocket over an HTTP/2 stream (RFC 8441's extended CONNECT).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http2::SendRequest;
use hyper::{Method, Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

/// One HTTP/2 connection's request sender; the connection runs on a task of its own.
pub(crate) type H2 = SendRequest<Empty<Bytes>>;

/// A WebSocket over an HTTP/2 stream.
pub(crate) type H2Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// HTTP/2 with prior knowledge on a fresh connection to `addr`.
pub(crate) async fn h2c(addr: &str) -> H2 {
    handshake(TcpStream::connect(addr).await.expect("connect")).await
}

/// A TLS client trusting only the CA in `ca` (PEM), offering `alpn`.
pub(crate) fn tls_connector(ca: &Path, alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca).expect("the CA file") {
        roots.add(certificate.expect("a PEM certificate")).unwrap();
    }
    #[allow(deprecated)] // ring, as the server uses
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

/// TLS to `addr` as `localhost`; returns the stream and the protocol ALPN chose.
pub(crate) async fn tls(
    connector: &TlsConnector,
    addr: &str,
) -> (tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").unwrap();
    let stream = connector
        .connect(name, tcp)
        .await
        .expect("the TLS handshake");
    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (stream, alpn)
}

/// HTTP/2 over `io` (a TCP or TLS stream).
pub(crate) async fn handshake(io: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) -> H2 {
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(io))
        .await
        .expect("the HTTP/2 handshake");
    tokio::spawn(connection);
    sender
}

/// `GET path` on `h2`: the response, its body not read yet.
pub(crate) async fn get(h2: &mut H2, path: &str) -> Response<hyper::body::Incoming> {
    h2.ready().await.expect("the connection takes requests");
    let request = Request::get(format!("http://localhost{path}"))
        .version(Version::HTTP_2)
        .body(Empty::new())
        .unwrap();
    h2.send_request(request).await.expect("a response")
}

/// A whole body as text.
pub(crate) async fn text(response: Response<hyper::body::Incoming>) -> String {
    let body = response.into_body().collect().await.expect("the body");
    String::from_utf8(body.to_bytes().to_vec()).expect("UTF-8")
}

/// A WebSocket on `path` over one stream of `h2`, as RFC 8441 has it; the server's response
/// (200 when it accepts), and the socket when it did.
pub(crate) async fn websocket(
    h2: &mut H2,
    path: &str,
    origin: Option<&str>,
) -> (u16, Option<H2Socket>) {
    h2.ready().await.expect("the connection takes requests");
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://localhost{path}"))
        .version(Version::HTTP_2)
        .header("sec-websocket-version", "13");
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let mut request = request.body(Empty::new()).unwrap();
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    let response = h2.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    if status != 200 {
        return (status, None);
    }
    let upgraded = hyper::upgrade::on(response).await.expect("the stream");
    let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
    (status, Some(socket))
}
