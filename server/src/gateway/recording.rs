//! Detailed recording (a key's `enable_detailed_recording`): request and response bodies
//! stream through exactly as they are, never buffered, and a copy of at most the first N bytes
//! of each is kept for the analytics record. Knows nothing of hyper beyond the body trait.

use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The first bytes of a body, copied as it streams past, and how long it was.
#[derive(Clone)]
pub struct BodyCopy {
    limit: usize,
    copied: Arc<Mutex<Copied>>,
}

#[derive(Default)]
struct Copied {
    bytes: Vec<u8>,
    total: u64,
}

impl BodyCopy {
    pub fn new(limit: usize) -> Self {
        Self { limit, copied: Arc::default() }
    }

    /// The body, passed on frame by frame as it is (its length hint too, so a Content-Length
    /// still holds), its first bytes copied here. `on_drop` runs when the body is done with:
    /// streamed to its end, or dropped on the way.
    pub fn tee(&self, body: Body, on_drop: Option<Box<dyn FnOnce() + Send>>) -> Body {
        Body::new(Tee { inner: body, copy: self.clone(), on_drop })
    }

    fn keep(&self, data: &[u8]) {
        let mut copied = self.copied.lock().unwrap_or_else(|e| e.into_inner());
        copied.total += data.len() as u64;
        let room = self.limit.saturating_sub(copied.bytes.len());
        copied.bytes.extend_from_slice(&data[..room.min(data.len())]);
    }

    /// What was copied so far, base64 as the record stores it.
    pub fn base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.copied.lock().unwrap_or_else(|e| e.into_inner()).bytes)
    }

    /// Bytes streamed so far, and whether the copy holds fewer.
    #[cfg(test)]
    fn seen(&self) -> (u64, bool) {
        let copied = self.copied.lock().unwrap_or_else(|e| e.into_inner());
        (copied.total, copied.total > copied.bytes.len() as u64)
    }
}

struct Tee {
    inner: Body,
    copy: BodyCopy,
    on_drop: Option<Box<dyn FnOnce() + Send>>,
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.copy.keep(data);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn streams_everything_and_copies_the_first_bytes() {
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> =
            (0..10u8).map(|i| Ok(Frame::data(Bytes::from(vec![i; 1000])))).collect();
        let body = Body::new(http_body_util::StreamBody::new(futures_util::stream::iter(chunks)));
        let copy = BodyCopy::new(2500);
        let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ended.clone();
        let teed = copy.tee(body, Some(Box::new(move || flag.store(true, std::sync::atomic::Ordering::SeqCst))));
        let all = teed.collect().await.unwrap().to_bytes();
        assert_eq!(all.len(), 10_000);
        assert!(ended.load(std::sync::atomic::Ordering::SeqCst), "the record is written once the body is done with");
        assert_eq!(copy.seen(), (10_000, true));
        use base64::Engine;
        let kept = base64::engine::general_purpose::STANDARD.decode(copy.base64()).unwrap();
        assert_eq!(kept.len(), 2500);
        assert_eq!(&kept[..], &all[..2500]);
    }

    #[test]
    fn keeps_the_length_hint() {
        let copy = BodyCopy::new(4);
        let teed = copy.tee(Body::from(vec![1u8; 100]), None);
        assert_eq!(teed.size_hint().exact(), Some(100));
    }
}
