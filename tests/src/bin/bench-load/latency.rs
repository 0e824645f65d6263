//! What a retained topic's local subscribers wait with Redis (issue 22): its messages go to the
//! stream and come back through Redis before this instance delivers them, so every publish pays a
//! Redis round trip, and the broker's queue sits in front of it. Measured under a steady load
//! (one publisher at a fixed rate, subscribers on the same instance), not a burst, beside the
//! same load on a plain topic through the same Redis (delivered here at once): the ratio is what
//! retaining costs in latency.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::channel::Protocol;
use crate::{Failure, Server, Sizes, percentile, ready, redis_server};

/// `bench-load latency [--quick]`: five rounds (one with `--quick`) of the comparison, printed.
pub(crate) fn main(args: &[String]) -> std::process::ExitCode {
    let quick = args.iter().any(|a| a == "--quick");
    let sizes = if quick { Sizes::QUICK } else { Sizes::FULL };
    let outcome = crate::runtime().and_then(|runtime| {
        for n in 1..=sizes.rounds {
            let Some((plain, retained)) = round(&runtime, sizes)? else {
                return Err(Failure::Failed("no redis-server on the PATH".to_owned()));
            };
            println!(
                "round {n}: plain p50 {:.2} ms p99 {:.2} ms; retained p50 {:.2} ms p99 {:.2} ms ({:.2}x, {:.2}x); lost {}",
                plain.p50,
                plain.p99,
                retained.p50,
                retained.p99,
                retained.p50 / plain.p50,
                retained.p99 / plain.p99,
                plain.lost + retained.lost
            );
        }
        Ok(())
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(Failure::Failed(why)) => {
            eprintln!("bench-load latency: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Publish-to-delivery latency, in ms.
pub(crate) struct Latency {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) lost: f64,
}

/// The steady load: messages per second, and for how long.
const RATE: u64 = 1000;

fn seconds(sizes: Sizes) -> u64 {
    if sizes.rounds == 1 { 1 } else { 3 }
}

/// The plain topic's and the retained topic's latency on one instance with Redis; `None` when
/// `redis-server` is not installed.
pub(crate) fn round(
    runtime: &tokio::runtime::Runtime,
    sizes: Sizes,
) -> Result<Option<(Latency, Latency)>, Failure> {
    let Some(redis) = redis_server()? else {
        return Ok(None);
    };
    let run = |retain: bool| {
        let (_server, addr) = Server::Nitrous.start(Some(&redis), retain)?;
        runtime.block_on(paced(&addr, sizes.fan_subscribers, seconds(sizes)))
    };
    let plain = run(false)?;
    let retained = run(true)?;
    Ok(Some((plain, retained)))
}

/// `subscribers` clients and a publisher on `/ws/fan` at `addr`; the publisher sends [`RATE`]
/// messages a second for `seconds`, each carrying its send time.
async fn paced(addr: &str, subscribers: usize, seconds: u64) -> Result<Latency, Failure> {
    let url = format!("ws://{addr}{}", Protocol::Raw.route("fan"));
    let mut clients = Vec::new();
    for _ in 0..subscribers {
        let mut client = Protocol::Raw.connect(&url).await?;
        ready(&mut client, Protocol::Raw).await?;
        clients.push(client);
    }
    let mut publisher = Protocol::Raw.connect(&url).await?;
    ready(&mut publisher, Protocol::Raw).await?;
    // The broker subscribes in Redis asynchronously: wait until a probe comes back, then drain.
    live(&mut publisher, &mut clients).await?;
    let messages = (RATE * seconds) as usize;
    let origin = Instant::now();
    let receivers: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(messages);
                while latencies.len() < messages {
                    match tokio::time::timeout(Duration::from_secs(5), client.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => {
                            let Some(sent) =
                                text.split(' ').next().and_then(|t| t.parse::<f64>().ok())
                            else {
                                continue;
                            };
                            let now = origin.elapsed().as_secs_f64();
                            latencies.push((now - sent) * 1e3);
                        }
                        Ok(Some(Ok(_))) => continue,
                        _ => break, // quiet for 5 s, or closed: the rest is lost
                    }
                }
                latencies
            })
        })
        .collect();
    let mut pace = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for _ in 0..messages {
        pace.tick().await;
        let text = format!("{:.9} paced", origin.elapsed().as_secs_f64());
        publisher
            .send(Message::text(text))
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?;
    }
    let mut latencies = Vec::new();
    for receiver in receivers {
        latencies.extend(receiver.await.map_err(|e| Failure::Failed(e.to_string()))?);
    }
    let lost = (subscribers * messages - latencies.len()) as f64;
    latencies.sort_by(f64::total_cmp);
    Ok(Latency {
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        lost,
    })
}

/// Sends probes until one reaches the first subscriber, then reads the probes away from all.
async fn live(publisher: &mut crate::Client, clients: &mut [crate::Client]) -> Result<(), Failure> {
    let Some((first, rest)) = clients.split_first_mut() else {
        return Ok(());
    };
    crate::crossed(publisher, first, Protocol::Raw).await?;
    for client in rest {
        crate::drain_probe(client).await?;
    }
    Ok(())
}
