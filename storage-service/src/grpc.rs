//! The gRPC adapter: proto messages in, store calls, proto messages out.

use std::pin::Pin;

use flowsvault_proto::storage::v1::{
    DeleteRequest, DeleteResponse, GetRequest, GetResponse, HeadRequest, ObjectInfo, PutRequest,
    PutResponse, put_request, storage_service_server::StorageService,
};
use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::{
    error::StorageError,
    store::{Incoming, ObjectStorage},
};

#[derive(Debug, Clone)]
pub struct StorageApi {
    storage: ObjectStorage,
}

impl StorageApi {
    pub fn new(storage: ObjectStorage) -> Self {
        Self { storage }
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<GetResponse, Status>> + Send>>;

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
        let stored = self
            .storage
            .put(&path, &header.content_type, &metadata, incoming)
            .await?;
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
        let path = ObjectStorage::path(&request.into_inner().key)?;
        self.storage.delete(&path).await?;
        Ok(Response::new(DeleteResponse {}))
    }
}
