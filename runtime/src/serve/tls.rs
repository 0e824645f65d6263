//! HTTPS for [`Serve`](super::Serve) (feature `tls`): a certificate and key, and ALPN, which
//! lets a client choose HTTP/2 (browsers speak it only over TLS) or HTTP/1.1.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// What `Serve::tls` serves HTTPS with: a certificate chain and its private key, through rustls
/// with ring (nothing is installed process-wide). ALPN offers `h2` and `http/1.1`.
///
/// ```no_run
/// # async fn run(router: nitrous::axum::Router) -> std::io::Result<()> {
/// let tls = nitrous::Tls::from_pem_files("cert.pem", "key.pem")?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
/// nitrous::serve(listener, router).tls(tls).await
/// # }
/// ```
#[derive(Clone)]
pub struct Tls {
    pub(super) acceptor: TlsAcceptor,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads a PEM certificate chain (the server's certificate first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1) from files, as Let's Encrypt and `openssl` write them.
    pub fn from_pem_files(
        certificates: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<Tls> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("nitrous: cannot read {}: {e}", path.display()),
                )
            })
        };
        let (certificates, key) = (certificates.as_ref(), key.as_ref());
        Tls::parse(&read(certificates)?, &read(key)?, certificates, key)
    }

    /// A PEM certificate chain (the server's certificate first) and a PEM private key.
    pub fn from_pem(certificates: &[u8], key: &[u8]) -> io::Result<Tls> {
        Tls::parse(
            certificates,
            key,
            Path::new("the certificate PEM"),
            Path::new("the key PEM"),
        )
    }

    /// A rustls configuration of your own (client certificates, several names, a resolver). If
    /// it sets no ALPN protocols, `h2` and `http/1.1` are offered.
    pub fn from_config(mut config: rustls::ServerConfig) -> Tls {
        if config.alpn_protocols.is_empty() {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }

    fn parse(
        certificates: &[u8],
        key: &[u8],
        cert_from: &Path,
        key_from: &Path,
    ) -> io::Result<Tls> {
        let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidData, message);
        let chain = CertificateDer::pem_slice_iter(certificates)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                invalid(format!(
                    "nitrous: {}: not a PEM certificate chain: {e}",
                    cert_from.display()
                ))
            })?;
        if chain.is_empty() {
            return Err(invalid(format!(
                "nitrous: {}: no certificate (a PEM `BEGIN CERTIFICATE` block) found",
                cert_from.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
            invalid(format!(
                "nitrous: {}: no private key (PEM `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`) found: {e}",
                key_from.display()
            ))
        })?;
        // ring, as `redis-tls` uses; its lack of post-quantum key exchange is what the
        // deprecation is about.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| {
                invalid(format!(
                    "nitrous: the certificate ({}) and the key ({}) do not make a TLS configuration: {e}",
                    cert_from.display(),
                    key_from.display()
                ))
            })?;
        Ok(Tls::from_config(config))
    }
}
