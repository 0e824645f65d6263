//! Where the Redis server is, how channels are named, and the bounds and timeouts that keep a slow
//! or lost Redis from growing memory or holding up delivery.

use std::time::Duration;

/// Where the Redis server is and how channels are named.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    pub(super) url: String,
    pub(super) channel_prefix: String,
    pub(super) stream_ttl: Option<Duration>,
    pub(super) replay_timeout: Duration,
    pub(super) command_timeout: Duration,
    pub(super) queue_limit: usize,
    pub(super) presence_ttl: Duration,
    /// PEM: the CA that signed the server's certificate, instead of the usual roots.
    #[cfg(feature = "redis-tls")]
    pub(super) tls_root: Option<Vec<u8>>,
}

/// The default of [`RedisConfig::presence_ttl`]: 30 s.
pub const DEFAULT_PRESENCE_TTL: Duration = Duration::from_secs(30);

/// The shortest [`RedisConfig::presence_ttl`]: 300 ms.
pub const MIN_PRESENCE_TTL: Duration = Duration::from_millis(300);

/// The default of [`RedisConfig::queue_limit`]: 32 MiB.
pub const DEFAULT_QUEUE_LIMIT: usize = 32 * 1024 * 1024;

impl RedisConfig {
    /// `redis://host:port[/db]` (or `rediss://` with the `redis-tls` feature); channels are
    /// prefixed `nitrous:`.
    ///
    /// With `rediss://`, the broker installs rustls's ring provider as the process's default
    /// when it starts, unless the app installed one before [`Hub::with_broker`](crate::Hub::with_broker).
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            channel_prefix: "nitrous:".to_owned(),
            stream_ttl: Some(Duration::from_secs(24 * 60 * 60)),
            replay_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(2),
            queue_limit: DEFAULT_QUEUE_LIMIT,
            presence_ttl: DEFAULT_PRESENCE_TTL,
            #[cfg(feature = "redis-tls")]
            tls_root: None,
        }
    }

    /// How long a retained topic's stream lives after its last message (default 24 h), so an
    /// app with a topic per document does not keep every document's history forever; `None`
    /// keeps streams until they are deleted.
    pub fn stream_ttl(mut self, ttl: Option<Duration>) -> RedisConfig {
        self.stream_ttl = ttl;
        self
    }

    /// How long a resume waits for a stream to be read (default 2 s) before its subscriber is
    /// told of a gap and goes on live.
    pub fn replay_timeout(mut self, timeout: Duration) -> RedisConfig {
        self.replay_timeout = timeout;
        self
    }

    /// How long connecting, a batch of publishes, a subscription or a health check may take
    /// (default 2 s). Past it the connection counts as lost: it is dropped and made anew with
    /// backoff, so a Redis that is connected but stalled (a long `SAVE`, a paused VM) is treated
    /// like one that is down. It is also how long a retained topic's message can wait before
    /// this instance's subscribers get it without Redis.
    pub fn command_timeout(mut self, timeout: Duration) -> RedisConfig {
        self.command_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many bytes of messages may wait for Redis (default [`DEFAULT_QUEUE_LIMIT`], 32 MiB).
    /// A publish that does not fit while Redis is slow does not reach the other instances
    /// (this instance's subscribers still get it, a retained topic's without an offset); such
    /// messages are counted ([`RedisBroker::stats`](super::RedisBroker::stats)) and logged.
    pub fn queue_limit(mut self, bytes: usize) -> RedisConfig {
        self.queue_limit = bytes;
        self
    }

    /// How long a member of a tracked topic ([`Hub::track_presence`](crate::Hub::track_presence))
    /// stays in Redis without its instance refreshing it (default [`DEFAULT_PRESENCE_TTL`],
    /// 30 s; at least [`MIN_PRESENCE_TTL`]). Each instance refreshes its members, and sweeps the
    /// expired members of the topics it has members of, every third of it: the members of an
    /// instance that crashed (or lost Redis) leave everywhere, with leave events, within
    /// `ttl + ttl / 3` (40 s by default), plus a command timeout when Redis is slow.
    pub fn presence_ttl(mut self, ttl: Duration) -> RedisConfig {
        self.presence_ttl = ttl.max(MIN_PRESENCE_TTL);
        self
    }

    /// How often this instance refreshes its members and sweeps expired ones: a third of
    /// [`RedisConfig::presence_ttl`].
    pub(super) fn presence_beat(&self) -> Duration {
        self.presence_ttl / 3
    }

    /// The prefix of every channel name, to share one Redis between apps.
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> RedisConfig {
        self.channel_prefix = prefix.into();
        self
    }

    /// With a `rediss://` URL, trusts the certificate authority in `pem` (a self-hosted Redis
    /// with its own CA) instead of the Mozilla and system roots. Feature `redis-tls`.
    #[cfg(feature = "redis-tls")]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> RedisConfig {
        self.tls_root = Some(pem.into());
        self
    }

    /// A client for the URL: `rediss://` with the `redis-tls` feature, refused clearly without.
    pub(super) fn client(&self) -> Result<redis::Client, String> {
        let tls = self.url.starts_with("rediss://");
        #[cfg(feature = "redis-tls")]
        if tls {
            // redis-rs asks rustls for the process's crypto provider, which is ambiguous (a
            // panic) when the app's tree turns on both ring and aws-lc-rs: unless the app
            // installed one, ring is. (Its lack of post-quantum key exchange is what the
            // deprecation is about.)
            #[allow(deprecated)]
            let _ = rustls::crypto::ring::default_provider().install_default();
            if let Some(root) = &self.tls_root {
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root.clone()),
                };
                return redis::Client::build_with_tls(self.url.as_str(), certificates)
                    .map_err(|e| e.to_string());
            }
        }
        #[cfg(not(feature = "redis-tls"))]
        if tls {
            return Err(
                "a rediss:// URL needs TLS: turn on nitrous's `redis-tls` feature".to_owned(),
            );
        }
        redis::Client::open(self.url.as_str()).map_err(|e| e.to_string())
    }

    /// The channel (and, for a retained topic, the stream) that carries `topic`.
    pub(super) fn channel(&self, topic: &str) -> String {
        format!("{}{topic}", self.channel_prefix)
    }
}
