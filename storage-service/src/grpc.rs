//! The gRPC adapter: proto messages in, store calls, proto messages out.

use std::pin::Pin;

use flowsvault_proto::storage::v1::{
    AbortStaleWritesRequest, AbortStaleWritesResponse, AppendRequest, AppendResponse,
    CommitRequest, DeleteRequest, DeleteResponse, GetRequest, GetResponse, HeadRequest,
    ListObjectsRequest, ObjectInfo, ObjectSummary, PresignRequest, PresignResponse, PutRequest,
    PutResponse, StagedRequest, append_request, put_request,
    storage_service_server::StorageService,
};
use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::{
    error::StorageError,
    staging::{Staging, Target},
    store::{Incoming, ObjectStorage},
};

#[derive(Debug, Clone)]
pub struct StorageApi {
    storage: ObjectStorage,
    staging: Staging,
}

impl StorageApi {
    pub fn new(storage: ObjectStorage, staging: Staging) -> Self {
        Self { storage, staging }
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<GetResponse, Status>> + Send>>;
type ObjectStream = Pin<Box<dyn Stream<Item = Result<ObjectSummary, Status>> + Send>>;

#[tonic::async_trait]
impl StorageService for StorageApi {
    async fn put(
        &self,
        request: Request<Streaming<PutRequest>>,
    ) -> Result<Response<PutResponse>, Status> {
        let mut messages = request.into_inner();
        let header = match messages.message().await? {
            Some(PutRequest {
                message: Some(put_request::Message::Header(header)),
            }) => header,
            _ => {
                return Err(
                    StorageError::MalformedStream("the first message must be a header").into(),
                );
            }
        };
        let path = ObjectStorage::path(&header.key)?;
        let incoming = messages.map(|message| match message {
            Ok(PutRequest {
                message: Some(put_request::Message::Chunk(bytes)),
            }) => Ok(Incoming::Chunk(bytes)),
            Ok(PutRequest {
                message: Some(put_request::Message::Finish(finish)),
            }) => Ok(Incoming::Finish { size: finish.size }),
            Ok(PutRequest {
                message: Some(put_request::Message::Header(_)) | None,
            }) => Err(StorageError::MalformedStream("expected a chunk or finish")),
            Err(status) => Err(StorageError::Interrupted(status)),
        });
        let metadata: Vec<(String, String)> = header.metadata.into_iter().collect();
        // In a task of its own. When the caller goes away, this handler is dropped at its
        // next await; a put dropped there could stop half-way, e.g. after S3 created a
        // multipart upload and before its id arrived, which nobody could then abort. The
        // task instead sees its stream end, and aborts.
        let storage = self.storage.clone();
        let content_type = header.content_type;
        let stored =
            tokio::spawn(
                async move { storage.put(&path, &content_type, &metadata, incoming).await },
            )
            .await
            .map_err(|_| StorageError::MalformedStream("the upload task ended early"))??;
        Ok(Response::new(PutResponse {
            size: stored.size,
            sha256: stored.sha256,
        }))
    }

    type GetStream = ChunkStream;

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<ChunkStream>, Status> {
        let request = request.into_inner();
        let path = ObjectStorage::path(&request.key)?;
        let range = request.range.map(|range| range.start..range.end);
        let chunks = self.storage.get(&path, range).await?;
        let messages = chunks.map(|chunk| {
            chunk
                .map(|chunk| GetResponse { chunk })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn head(&self, request: Request<HeadRequest>) -> Result<Response<ObjectInfo>, Status> {
        let key = request.into_inner().key;
        let meta = self.storage.head(&ObjectStorage::path(&key)?).await?;
        Ok(Response::new(ObjectInfo {
            key,
            size: meta.size,
            last_modified: Some(flowsvault_proto::to_timestamp(meta.last_modified)),
        }))
    }

    async fn delete(
        &self,
        request: Request<DeleteRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        let key = request.into_inner().key;
        let path = ObjectStorage::path(&key)?;
        self.storage.delete(&path).await?;
        // A resumable upload that never finished has its bytes in staging.
        self.staging.discard(&key).await?;
        Ok(Response::new(DeleteResponse {}))
    }

    async fn append(
        &self,
        request: Request<Streaming<AppendRequest>>,
    ) -> Result<Response<AppendResponse>, Status> {
        let mut messages = request.into_inner();
        let header = match messages.message().await? {
            Some(AppendRequest {
                message: Some(append_request::Message::Header(header)),
            }) => header,
            _ => {
                return Err(
                    StorageError::MalformedStream("the first message must be a header").into(),
                );
            }
        };
        let chunks = messages.map(|message| match message {
            Ok(AppendRequest {
                message: Some(append_request::Message::Chunk(bytes)),
            }) => Ok(bytes),
            Ok(_) => Err(StorageError::MalformedStream("expected a chunk")),
            Err(status) => Err(StorageError::Interrupted(status)),
        });
        let target = Target {
            key: header.key,
            content_type: header.content_type,
            metadata: header.metadata.into_iter().collect(),
        };
        // In a task of its own, as puts are: a part on its way to S3 is not stranded by a
        // caller that goes away.
        let staging = self.staging.clone();
        let length =
            tokio::spawn(async move { staging.append(&target, header.offset, chunks).await })
                .await
                .map_err(|_| StorageError::MalformedStream("the append task ended early"))??;
        Ok(Response::new(AppendResponse { length }))
    }

    async fn staged(
        &self,
        request: Request<StagedRequest>,
    ) -> Result<Response<AppendResponse>, Status> {
        let length = self.staging.length(&request.get_ref().key).await?;
        Ok(Response::new(AppendResponse { length }))
    }

    async fn commit(
        &self,
        request: Request<CommitRequest>,
    ) -> Result<Response<PutResponse>, Status> {
        let request = request.into_inner();
        let metadata: Vec<(String, String)> = request.metadata.into_iter().collect();
        let target = Target {
            key: request.key,
            content_type: request.content_type,
            metadata,
        };
        let staging = self.staging.clone();
        let stored = tokio::spawn(async move { staging.commit(&target, request.length).await })
            .await
            .map_err(|_| StorageError::MalformedStream("the commit task ended early"))??;
        Ok(Response::new(PutResponse {
            size: stored.size,
            sha256: stored.sha256,
        }))
    }

    async fn discard(
        &self,
        request: Request<StagedRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        self.staging.discard(&request.get_ref().key).await?;
        Ok(Response::new(DeleteResponse {}))
    }

    async fn presign(
        &self,
        request: Request<PresignRequest>,
    ) -> Result<Response<PresignResponse>, Status> {
        let request = request.into_inner();
        let path = ObjectStorage::path(&request.key)?;
        // S3 accepts at most seven days.
        if !(1..=604_800).contains(&request.expires_in_secs) {
            return Err(flowsvault_proto::ErrorCode::InvalidRequest
                .status("expires_in_secs must be 1 to 604800"));
        }
        let url = self
            .storage
            .presign(
                &path,
                std::time::Duration::from_secs(u64::from(request.expires_in_secs)),
                &request.content_type,
                &request.content_disposition,
            )
            .await?;
        Ok(Response::new(PresignResponse { url }))
    }

    async fn abort_stale_writes(
        &self,
        request: Request<AbortStaleWritesRequest>,
    ) -> Result<Response<AbortStaleWritesResponse>, Status> {
        let request = request.into_inner();
        let older_than = std::time::Duration::from_secs(request.older_than_secs);
        // Resumable uploads to S3 keep a multipart upload open for as long as they last.
        let in_use = self.staging.uploads_in_progress().await?;
        let removed = self
            .storage
            .abort_stale_writes(older_than, &request.key_prefix, &in_use)
            .await?;
        Ok(Response::new(AbortStaleWritesResponse { removed }))
    }

    type ListObjectsStream = ObjectStream;

    async fn list_objects(
        &self,
        _request: Request<ListObjectsRequest>,
    ) -> Result<Response<ObjectStream>, Status> {
        let objects = self.storage.list().map(|listed| {
            listed
                .map(|meta| ObjectSummary {
                    key: meta.location.to_string(),
                    size: meta.size,
                    last_modified: Some(flowsvault_proto::to_timestamp(meta.last_modified)),
                })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(objects)))
    }
}
