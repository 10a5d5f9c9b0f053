//! Typed settings: defaults, then environment, then command line.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};

#[derive(Clone, Debug, clap::Parser)]
#[command(name = "janitor", version, about = "Flowsvault janitor")]
pub struct Config {
    /// Address the gRPC server (health) listens on (port 0 picks a free port).
    #[arg(
        long,
        env = "FLOWSVAULT_JANITOR_ADDR",
        default_value = "127.0.0.1:50054"
    )]
    pub listen_addr: String,

    /// gRPC URL of file-service.
    #[arg(
        long,
        env = "FLOWSVAULT_FILES_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub files_url: String,

    /// gRPC URL of storage-service.
    #[arg(
        long,
        env = "FLOWSVAULT_STORAGE_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub storage_url: String,

    /// When passes run: a cron expression of five fields (minute hour day-of-month
    /// month day-of-week), in UTC.
    #[arg(
        long,
        env = "FLOWSVAULT_JANITOR_SCHEDULE",
        default_value = "*/5 * * * *"
    )]
    pub schedule: String,

    /// Seconds between passes, instead of the schedule; 0 keeps the schedule.
    #[arg(long, env = "FLOWSVAULT_JANITOR_INTERVAL_SECS", default_value_t = 0)]
    pub interval_secs: u64,

    /// An upload still pending after this many seconds is taken as abandoned.
    #[arg(long, env = "FLOWSVAULT_STALE_UPLOAD_SECS", default_value_t = 6 * 3600)]
    pub stale_upload_secs: u64,

    /// Rows claimed per batch.
    #[arg(long, env = "FLOWSVAULT_JANITOR_BATCH", default_value_t = 100)]
    pub batch: u32,

    /// Seconds a claimed row stays reserved for this replica.
    #[arg(long, env = "FLOWSVAULT_JANITOR_LEASE_SECS", default_value_t = 300)]
    pub lease_secs: u64,

    /// Every how many scheduled passes orphan objects are reconciled (it lists the whole
    /// store); 0 never (`POST /api/admin/cleanup?orphans=true` still does).
    #[arg(long, env = "FLOWSVAULT_JANITOR_ORPHAN_EVERY", default_value_t = 12)]
    pub orphan_every: u32,

    /// An object that no record names is removed once it is this many seconds old.
    #[arg(
        long,
        env = "FLOWSVAULT_JANITOR_ORPHAN_GRACE_SECS",
        default_value_t = 24 * 3600
    )]
    pub orphan_grace_secs: u64,

    /// Seconds expired and revoked share links stay listed for their owner before they
    /// are removed.
    #[arg(
        long,
        env = "FLOWSVAULT_JANITOR_SHARE_RETENTION_SECS",
        default_value_t = 30 * 86_400
    )]
    pub share_retention_secs: u64,

    /// Address of the Prometheus endpoint (`GET /metrics`); empty turns it off.
    #[arg(
        long,
        env = "FLOWSVAULT_JANITOR_METRICS_ADDR",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_addr: String,
}

/// When the next pass runs.
#[derive(Debug, Clone)]
pub enum Schedule {
    Cron(Box<croner::Cron>),
    Every(Duration),
}

impl Schedule {
    /// How long to wait, from `now`, for the next pass.
    pub fn wait_from(&self, now: DateTime<Utc>) -> Duration {
        match self {
            Schedule::Every(interval) => *interval,
            Schedule::Cron(cron) => cron
                .find_next_occurrence(&now, false)
                .ok()
                .and_then(|next| (next - now).to_std().ok())
                // A pattern that never matches again: look once a day.
                .unwrap_or(Duration::from_secs(86_400)),
        }
    }
}

impl Config {
    /// The schedule: the interval when one is set, else the cron expression.
    pub fn schedule(&self) -> anyhow::Result<Schedule> {
        if self.interval_secs > 0 {
            return Ok(Schedule::Every(Duration::from_secs(self.interval_secs)));
        }
        let cron = croner::Cron::from_str(self.schedule.trim()).map_err(|error| {
            anyhow::anyhow!(
                "FLOWSVAULT_JANITOR_SCHEDULE {:?} is not a cron expression: {error}",
                self.schedule
            )
        })?;
        Ok(Schedule::Cron(Box::new(cron)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn config(schedule: &str, interval_secs: u64) -> Config {
        Config {
            listen_addr: "127.0.0.1:0".into(),
            files_url: String::new(),
            storage_url: String::new(),
            schedule: schedule.into(),
            interval_secs,
            stale_upload_secs: 60,
            batch: 1,
            lease_secs: 1,
            orphan_every: 0,
            orphan_grace_secs: 0,
            share_retention_secs: 0,
            metrics_addr: String::new(),
        }
    }

    #[test]
    fn the_default_schedule_runs_every_five_minutes() {
        let schedule = config("*/5 * * * *", 0).schedule().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 12, 3, 30).unwrap();
        assert_eq!(schedule.wait_from(at), Duration::from_secs(90));
        let on_the_dot = Utc.with_ymd_and_hms(2026, 11, 27, 12, 5, 0).unwrap();
        assert_eq!(schedule.wait_from(on_the_dot), Duration::from_secs(300));
    }

    #[test]
    fn an_interval_overrides_the_schedule_and_a_bad_expression_is_refused() {
        let every = config("not cron", 42).schedule().unwrap();
        assert_eq!(every.wait_from(Utc::now()), Duration::from_secs(42));
        assert!(config("61 * * * *", 0).schedule().is_err());
        assert!(config("every day", 0).schedule().is_err());
    }
}
