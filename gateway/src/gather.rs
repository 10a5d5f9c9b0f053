//! Upload bodies arrive in socket-sized chunks (a few KiB to 32 KiB). Each chunk that
//! reaches storage-service is one gRPC message, one channel hand-off on each side and
//! one write, so a gigabyte in such chunks costs tens of thousands of each. `Gathered`
//! joins the chunks a body already has at hand, never waiting for more, into chunks of up
//! to [`GATHER_BYTES`]: the same bytes, as soon as they came, in far fewer messages.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;

/// The size a gathered chunk grows to before it is passed on.
pub const GATHER_BYTES: usize = 256 * 1024;

/// A body whose ready chunks are joined; what ends or fails the body follows the bytes
/// that came before it, and the body is not polled once it has ended.
pub struct Gathered<S, E> {
    inner: S,
    /// The end or error met while gathering, answered by the next poll.
    deferred: Option<Option<Result<Bytes, E>>>,
    ended: bool,
}

impl<S, E> Gathered<S, E> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            deferred: None,
            ended: false,
        }
    }
}

impl<S, E> Stream for Gathered<S, E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(item) = this.deferred.take() {
            this.ended = item.is_none();
            return Poll::Ready(item);
        }
        if this.ended {
            return Poll::Ready(None);
        }
        let first = match ready!(Pin::new(&mut this.inner).poll_next(context)) {
            Some(Ok(chunk)) => chunk,
            None => {
                this.ended = true;
                return Poll::Ready(None);
            }
            error => return Poll::Ready(error),
        };
        if first.len() >= GATHER_BYTES {
            return Poll::Ready(Some(Ok(first)));
        }
        let mut gathered: Option<BytesMut> = None;
        loop {
            match Pin::new(&mut this.inner).poll_next(context) {
                // Nothing more at hand: what there is goes now; the waker is registered.
                Poll::Pending => break,
                Poll::Ready(Some(Ok(chunk))) => {
                    let buffer = gathered.get_or_insert_with(|| {
                        let mut buffer = BytesMut::with_capacity(GATHER_BYTES + chunk.len());
                        buffer.extend_from_slice(&first);
                        buffer
                    });
                    buffer.extend_from_slice(&chunk);
                    if buffer.len() >= GATHER_BYTES {
                        break;
                    }
                }
                Poll::Ready(end_or_error) => {
                    this.deferred = Some(end_or_error);
                    break;
                }
            }
        }
        Poll::Ready(Some(Ok(gathered.map_or(first, BytesMut::freeze))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{StreamExt, stream};

    fn chunks(sizes: &[usize]) -> Vec<Result<Bytes, &'static str>> {
        sizes
            .iter()
            .enumerate()
            .map(|(index, &size)| Ok(Bytes::from(vec![index as u8; size])))
            .collect()
    }

    #[tokio::test]
    async fn ready_chunks_are_joined_up_to_the_size_in_order() {
        let sizes = [100_000, 100_000, 100_000, 1, 300_000, 5];
        let body = stream::iter(chunks(&sizes));
        let out: Vec<Bytes> = Gathered::new(body)
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .await;
        let lengths: Vec<usize> = out.iter().map(Bytes::len).collect();
        assert_eq!(lengths, [300_000, 300_001, 5]);
        let joined: Vec<u8> = out.concat();
        let expected: Vec<u8> = chunks(&sizes)
            .into_iter()
            .flat_map(|chunk| chunk.unwrap().to_vec())
            .collect();
        assert_eq!(joined, expected);
    }

    #[tokio::test]
    async fn an_error_follows_the_bytes_before_it_and_the_end_is_final() {
        let mut items = chunks(&[10, 20]);
        items.push(Err("cut"));
        items.extend(chunks(&[30]));
        let mut body = Gathered::new(stream::iter(items));
        assert_eq!(body.next().await.unwrap().unwrap().len(), 30);
        assert_eq!(body.next().await.unwrap(), Err("cut"));
        assert_eq!(body.next().await.unwrap().unwrap().len(), 30);
        assert!(body.next().await.is_none());
        assert!(body.next().await.is_none());
    }

    #[tokio::test]
    async fn a_chunk_is_never_held_back_waiting_for_more() {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let mut body = Gathered::new(tokio_stream::wrappers::UnboundedReceiverStream::new(
            receiver,
        ));
        sender
            .send(Ok::<_, &str>(Bytes::from_static(b"abc")))
            .unwrap();
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"abc");
        sender.send(Ok(Bytes::from_static(b"d"))).unwrap();
        drop(sender);
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"d");
        assert!(body.next().await.is_none());
    }
}
