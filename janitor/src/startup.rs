//! Start-up: what `main` runs and what tests start on port 0.

use flowsvault_kit::grpc;
use flowsvault_proto::janitor::v1::{
    PassReport as PassReportMessage, RunPassRequest,
    janitor_service_server::{JanitorService, JanitorServiceServer},
};
use tokio::net::TcpListener;

use crate::{
    config::Config,
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
        _: tonic::Request<RunPassRequest>,
    ) -> Result<tonic::Response<PassReportMessage>, tonic::Status> {
        let report = self.janitor.run_pass().await?;
        Ok(tonic::Response::new(report.to_proto()))
    }
}

pub struct Application {
    listener: TcpListener,
    janitor: Janitor,
    config: Config,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // A schedule that does not parse stops the start, not the first pass.
        config.schedule()?;
        let janitor = Janitor::new(
            grpc::channel(&config.files_url)?,
            grpc::channel(&config.storage_url)?,
            PassSettings {
                batch: config.batch.max(1),
                stale_upload_secs: config.stale_upload_secs,
                lease_secs: config.lease_secs,
            },
        );
        let listener = grpc::bind(&config.listen_addr).await?;
        Ok(Self {
            listener,
            janitor,
            config,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }

    pub fn janitor(&self) -> &Janitor {
        &self.janitor
    }

    /// Serves health and runs a pass on the schedule until `shutdown` resolves. A pass in
    /// progress at shutdown is dropped; its claims lapse and the next pass redoes them.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let janitor = self.janitor;
        let when = self.config.schedule()?;
        let scheduled = janitor.clone();
        let schedule = async move {
            // The first pass waits for its time too, so it does not race the start of the
            // services it calls. A pass that overruns its next time is not run twice.
            loop {
                tokio::time::sleep(when.wait_from(chrono::Utc::now())).await;
                if let Err(status) = scheduled.run_pass().await {
                    tracing::warn!(%status, "janitor pass failed");
                }
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
        }
    }
}
