//! A `metrics` recorder that keeps every counter and gauge in an atomic, readable without resetting
//! it: the metrics test reads exact counts from it, and the bench's nitrous installs it to measure
//! what recording costs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Every metric registered, by `name{label=value,...}`, its value read without resetting it (a
/// gauge's as f64 bits).
#[derive(Debug, Default)]
pub struct Recording(Mutex<BTreeMap<String, Arc<AtomicU64>>>);

impl Recording {
    fn cell(&self, key: &Key) -> Arc<AtomicU64> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.0.lock().unwrap().entry(name).or_default().clone()
    }

    /// A counter's value (0 when it was never registered).
    pub fn counter(&self, name: &str) -> u64 {
        let cells = self.0.lock().unwrap();
        cells
            .get(name)
            .map_or(0, |cell| cell.load(Ordering::SeqCst))
    }

    /// A gauge's value (0 when it was never registered).
    pub fn gauge(&self, name: &str) -> f64 {
        let cells = self.0.lock().unwrap();
        cells
            .get(name)
            .map_or(0.0, |cell| f64::from_bits(cell.load(Ordering::SeqCst)))
    }

    /// Every metric registered.
    pub fn names(&self) -> Vec<String> {
        self.0.lock().unwrap().keys().cloned().collect()
    }
}

/// The recorder to install: it records into the `Recording` it holds.
#[derive(Debug)]
pub struct Installed(pub Arc<Recording>);

impl Recorder for Installed {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.0.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.0.cell(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}
