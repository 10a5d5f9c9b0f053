//! The janitor's Prometheus metrics: what its passes removed, their failures and their
//! duration, served by `flowsvault_kit::metrics::serve` at `GET /metrics` on
//! FLOWSVAULT_JANITOR_METRICS_ADDR.

use std::{sync::Arc, time::Duration};

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::pass::PassReport;

#[derive(Clone)]
pub struct JanitorMetrics {
    registry: Arc<Registry>,
    passes: Counter,
    expired_files: Counter,
    stale_uploads: Counter,
    deleted_files: Counter,
    orphans: Counter,
    expired_shares: Counter,
    stale_writes: Counter,
    bytes_freed: Counter,
    failures: Counter,
    last_pass: Gauge,
    duration: Histogram,
}

impl Default for JanitorMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl JanitorMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("flowsvault_janitor");
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let passes = counter("passes", "Passes run");
        let expired_files = counter("expired_files", "Expired files whose bytes were removed");
        let stale_uploads = counter(
            "stale_uploads",
            "Failed and abandoned uploads whose objects were removed",
        );
        let deleted_files = counter(
            "deleted_files",
            "Deleted files whose object removal was finished",
        );
        let orphans = counter("orphans", "Objects no file record names, removed");
        let expired_shares = counter("expired_shares", "Share links removed");
        let stale_writes = counter(
            "stale_writes",
            "Unfinished writes (multipart uploads, partial files) removed",
        );
        let bytes_freed = counter("freed_bytes", "Bytes of the objects removed");
        let failures = counter(
            "failures",
            "Items and tasks that failed (retried by a later pass)",
        );
        let last_pass = Gauge::default();
        registry.register(
            "last_pass_timestamp_seconds",
            "When the last pass ended (Unix time)",
            last_pass.clone(),
        );
        // 10 ms to about 80 min.
        let duration = Histogram::new(exponential_buckets(0.01, 2.0, 19));
        registry.register(
            "pass_duration_seconds",
            "How long passes took",
            duration.clone(),
        );
        Self {
            registry: Arc::new(registry),
            passes,
            expired_files,
            stale_uploads,
            deleted_files,
            orphans,
            expired_shares,
            stale_writes,
            bytes_freed,
            failures,
            last_pass,
            duration,
        }
    }

    pub fn record(&self, report: &PassReport, took: Duration) {
        self.passes.inc();
        self.expired_files.inc_by(report.expired_files);
        self.stale_uploads.inc_by(report.stale_uploads);
        self.deleted_files.inc_by(report.deleted_files);
        self.orphans.inc_by(report.orphans);
        self.expired_shares.inc_by(report.expired_shares);
        self.stale_writes.inc_by(report.stale_writes);
        self.bytes_freed.inc_by(report.bytes_freed);
        self.failures.inc_by(report.failures);
        self.last_pass.set(chrono::Utc::now().timestamp());
        self.duration.observe(took.as_secs_f64());
    }

    /// The registry in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_counted_by_kind() {
        let metrics = JanitorMetrics::new();
        metrics.record(
            &PassReport {
                expired_files: 3,
                orphans: 2,
                bytes_freed: 1024,
                ..PassReport::default()
            },
            Duration::from_millis(20),
        );
        let text = metrics.render();
        for line in [
            "flowsvault_janitor_passes_total 1",
            "flowsvault_janitor_expired_files_total 3",
            "flowsvault_janitor_orphans_total 2",
            "flowsvault_janitor_freed_bytes_total 1024",
            "flowsvault_janitor_failures_total 0",
            "flowsvault_janitor_pass_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
