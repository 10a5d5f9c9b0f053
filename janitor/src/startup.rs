//! Start-up: what `main` runs and what tests start on port 0.

use flowsvault_kit::grpc;
use flowsvault_proto::janitor::v1::{
    PassReport as PassReportMessage, RunPassRequest,
    janitor_service_server::{JanitorService, JanitorServiceServer},
};
use tokio::net::TcpListener;

use crate::{
    config::Config,
    metrics::JanitorMetrics,
    pass::{Janitor, PassSettings},
};

/// Passes on demand (`POST /api/admin/cleanup` through the gateway).
struct JanitorApi {
    janitor: Janitor,
}

#[tonic::async_trait]
impl JanitorService for JanitorApi {
    async fn run_pass(
        &self,
        request: tonic::Request<RunPassRequest>,
    ) -> Result<tonic::Response<PassReportMessage>, tonic::Status> {
        let report = self.janitor.run_pass(request.get_ref().orphans).await;
        Ok(tonic::Response::new(report.to_proto()))
    }
}

pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    metrics: JanitorMetrics,
    janitor: Janitor,
    config: Config,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // A schedule that does not parse stops the start, not the first pass.
        config.schedule()?;
        let metrics = JanitorMetrics::new();
        let janitor = Janitor::new(
            grpc::channel(&config.files_url)?,
            grpc::channel(&config.storage_url)?,
            PassSettings {
                batch: config.batch.max(1),
                stale_upload_secs: config.stale_upload_secs,
                lease_secs: config.lease_secs,
                orphan_grace_secs: config.orphan_grace_secs,
                share_retention_secs: config.share_retention_secs,
            },
            metrics.clone(),
        );
        let listener = grpc::bind(&config.listen_addr).await?;
        let metrics_listener = flowsvault_kit::metrics::bind(&config.metrics_addr).await?;
        Ok(Self {
            listener,
            metrics_listener,
            metrics,
            janitor,
            config,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }

    /// The port of the metrics endpoint, when it is on.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
            .map(|address| address.port())
    }

    pub fn janitor(&self) -> &Janitor {
        &self.janitor
    }

    /// Serves health, passes on demand and the metrics, and runs a pass on the schedule,
    /// until `shutdown` resolves. A pass in progress at shutdown is dropped; its claims
    /// lapse and the next pass redoes them.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let janitor = self.janitor;
        let when = self.config.schedule()?;
        let orphan_every = self.config.orphan_every;
        let scheduled = janitor.clone();
        let schedule = async move {
            // The first pass waits for its time too, so it does not race the start of the
            // services it calls. A pass that overruns its next time is not run twice.
            let mut passes: u32 = 0;
            loop {
                tokio::time::sleep(when.wait_from(chrono::Utc::now())).await;
                passes = passes.wrapping_add(1);
                let orphans = orphan_every > 0 && passes.is_multiple_of(orphan_every);
                scheduled.run_pass(orphans).await;
            }
        };
        let metrics = self.metrics;
        let serve_metrics = async move {
            match self.metrics_listener {
                Some(listener) => {
                    flowsvault_kit::metrics::serve(
                        listener,
                        move || metrics.render(),
                        std::future::pending(),
                    )
                    .await;
                }
                None => std::future::pending().await,
            }
        };
        let router = grpc::server()
            .add_service(grpc::health_service().await)
            .add_service(JanitorServiceServer::new(JanitorApi {
                janitor: janitor.clone(),
            }));
        tokio::select! {
            served = grpc::serve(router, self.listener, shutdown) => served,
            () = schedule => Ok(()),
            () = serve_metrics => Ok(()),
        }
    }
}
