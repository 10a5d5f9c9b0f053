//! Graceful shutdown: every service stops accepting and drains on SIGTERM or Ctrl-C, and
//! then exits, whatever work it leaves behind.

use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Resolves on the first SIGTERM or Ctrl-C.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = terminate => tracing::info!("sigterm received, shutting down"),
    }
}

/// How long a service whose main future has returned waits for the work it leaves behind
/// (blocking file operations, tasks still running) before the process exits anyway.
pub const LEFTOVER_GRACE: Duration = Duration::from_secs(5);

/// Runs a service's `main` on a multi-threaded Tokio runtime, as `#[tokio::main]` does,
/// and then gives what `main` leaves running at most `grace` to end: the runtime that
/// `#[tokio::main]` drops waits for every blocking task without a limit, so one stuck
/// file operation would keep a stopped service from ever exiting.
pub fn run<T>(grace: Duration, main: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?;
    let outcome = runtime.block_on(main);
    let stopping = Instant::now();
    runtime.shutdown_timeout(grace);
    tracing::info!(leftovers_ms = stopping.elapsed().as_millis(), "stopped");
    outcome
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };

    use super::*;

    #[test]
    fn a_blocking_task_left_behind_does_not_hold_up_the_exit() {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let ended = Arc::new(AtomicBool::new(false));
        let task_ended = Arc::clone(&ended);
        let answer = run(Duration::from_millis(50), async move {
            tokio::task::spawn_blocking(move || {
                // Ends when the test lets it, or after a minute at the latest, so a
                // failing `run` fails this test instead of hanging it.
                let _ = released.recv_timeout(Duration::from_secs(60));
                task_ended.store(true, Ordering::SeqCst);
            });
            Ok(7)
        })
        .unwrap();
        assert_eq!(answer, 7);
        assert!(
            !ended.load(Ordering::SeqCst),
            "run waited for the blocking task"
        );
        drop(release);
    }

    #[test]
    fn the_outcome_of_main_is_returned() {
        let failed: anyhow::Error =
            run::<()>(LEFTOVER_GRACE, async { anyhow::bail!("no such thing") }).unwrap_err();
        assert_eq!(failed.to_string(), "no such thing");
    }
}
