//! Large collections written as they are serialised. `GET /v3/role_assignments` of a cloud
//! lists every grant: 50,000 entries made a JSON tree of about 150 MiB and its text beside it,
//! per request. Above [`STREAM_FROM`] members the answer is sent in chunks (HTTP chunked
//! transfer) of [`CHUNK`] members each, rendered only when the connection takes them, so a
//! request holds its compact records and one chunk of text. The bytes are exactly those of
//! the buffered answer ([`crate::api::json_response`] of the same collection).

use crate::db::collection::{self, ListUrl, wrap_collection};
use crate::db::listing::Hints;
use crate::json::{Style, resource_body, to_ascii_string};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use serde_json::Value;
use std::sync::Arc;

/// Smaller collections are answered whole (with a `Content-Length`), as before.
pub const STREAM_FROM: usize = 2_000;
const CHUNK: usize = 500;

/// A placeholder no member renders to: where the members go in the wrapped body's text.
const MEMBERS_HERE: &str = "\u{0}keystone-rs members\u{0}";

/// The collection `{key: [members…], "links": …}` of `items`, each rendered by `render`.
pub fn collection_response<T: Send + Sync + 'static>(
    key: &str,
    items: Vec<T>,
    url: &ListUrl,
    render: impl Fn(&T) -> Value + Send + Sync + 'static,
) -> HttpResponse {
    if items.len() < STREAM_FROM {
        let members = items.iter().map(&render).collect();
        return crate::api::json_response(
            StatusCode::OK,
            &wrap_collection(key, members, None, url),
        );
    }
    let (head, tail) = around_members(key, &Page::whole(), url);
    let items = Arc::new(items);
    let render = Arc::new(render);
    let chunks = (0..items.len().div_ceil(CHUNK)).map(move |i| {
        let (start, end) = (i * CHUNK, ((i + 1) * CHUNK).min(items.len()));
        let mut text = String::new();
        for (n, item) in items[start..end].iter().enumerate() {
            if start + n > 0 {
                text.push_str(", ");
            }
            text.push_str(&to_ascii_string(&render(item), Style::Python));
        }
        Ok::<_, actix_web::Error>(Bytes::from(text))
    });
    let parts = std::iter::once(Ok(head))
        .chain(chunks)
        .chain(std::iter::once(Ok(tail)));
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(GiveBackWhenDone(Some(futures_util::stream::iter(parts))))
}

/// The collection `{key: [members…], "links": …}` of `members`, each appended to the body
/// by `write` (from text a cache keeps rendered), answered whole.
pub fn collection_written<T>(
    key: &str,
    members: &[T],
    url: &ListUrl,
    write: impl Fn(&T, &mut Vec<u8>),
) -> HttpResponse {
    page_written(key, members, &Page::whole(), url, write)
}

/// What a page's body says besides its members: whether it was limited, by which hints,
/// and its last member's id (for the `next` link).
pub struct Page<'a> {
    pub limited: bool,
    pub hints: Option<&'a Hints>,
    pub last_id: Option<&'a str>,
}

impl Page<'_> {
    fn whole() -> Self {
        Page {
            limited: false,
            hints: None,
            last_id: None,
        }
    }
}

/// [`collection::body`] of a page whose members `write` appends to the body as text.
pub fn page_written<T>(
    key: &str,
    members: &[T],
    page: &Page,
    url: &ListUrl,
    write: impl Fn(&T, &mut Vec<u8>),
) -> HttpResponse {
    let (head, tail) = around_members(key, page, url);
    let mut body = Vec::with_capacity(head.len() + tail.len() + 512 * members.len());
    body.extend_from_slice(&head);
    for (n, member) in members.iter().enumerate() {
        if n > 0 {
            body.extend_from_slice(b", ");
        }
        write(member, &mut body);
    }
    body.extend_from_slice(&tail);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// The answer's stream; once it is dropped (sent, or the client went away) with the records
/// it held, the freed memory goes back to the system. glibc keeps freed heap for reuse, so
/// one burst of large listings otherwise left the server at its peak size for good (the
/// bench's size-M listing of 50,000 grants: 380 MiB resident for every scenario after it).
struct GiveBackWhenDone<S>(Option<S>);

impl<S: futures_util::Stream + Unpin> futures_util::Stream for GiveBackWhenDone<S> {
    type Item = S::Item;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        match self.get_mut().0.as_mut() {
            Some(inner) => std::pin::Pin::new(inner).poll_next(cx),
            None => std::task::Poll::Ready(None),
        }
    }
}

impl<S> Drop for GiveBackWhenDone<S> {
    fn drop(&mut self) {
        drop(self.0.take());
        // off the worker: trimming a large heap takes milliseconds
        if tokio::runtime::Handle::try_current().is_ok() {
            drop(actix_web::rt::task::spawn_blocking(release_free_memory));
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks glibc's own arenas; 0 keeps no extra pad at the top.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

/// The page's body text before and after its members.
fn around_members(key: &str, page: &Page, url: &ListUrl) -> (Bytes, Bytes) {
    let body = resource_body(&collection::body_of_page(
        key,
        Value::Array(vec![Value::from(MEMBERS_HERE)]),
        page.limited,
        page.hints,
        url,
        page.last_id,
    ));
    let marker = to_ascii_string(&Value::from(MEMBERS_HERE), Style::Python);
    let (head, tail) = body
        .split_once(&marker)
        .expect("the wrapped body holds the placeholder");
    (
        Bytes::copy_from_slice(head.as_bytes()),
        Bytes::copy_from_slice(tail.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use serde_json::json;

    fn url() -> ListUrl {
        ListUrl {
            base: "http://k".into(),
            path: "/v3/role_assignments".into(),
            query_string: "include_names=1".into(),
        }
    }

    async fn text(response: HttpResponse) -> String {
        let bytes = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap_or_else(|_| panic!("body"));
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn streamed_bodies_are_the_buffered_ones() {
        for n in [0, 1, STREAM_FROM - 1, STREAM_FROM, STREAM_FROM + CHUNK + 1] {
            let items: Vec<usize> = (0..n).collect();
            let render = |i: &usize| json!({"id": format!("é{i}"), "n": i});
            let response = collection_response("role_assignments", items.clone(), &url(), render);
            let streamed = matches!(response.body().size(), actix_web::body::BodySize::Stream);
            assert_eq!(streamed, n >= STREAM_FROM, "{n} members");
            let members = items.iter().map(render).collect();
            let buffered =
                resource_body(&wrap_collection("role_assignments", members, None, &url()));
            assert_eq!(text(response).await, buffered, "{n} members");
        }
    }

    #[actix_web::test]
    async fn bodies_of_rendered_members_are_the_buffered_ones() {
        for n in [0, 1, 3] {
            let members: Vec<Value> = (0..n).map(|i| json!({"id": format!("é{i}")})).collect();
            let texts: Vec<String> = members
                .iter()
                .map(|m| to_ascii_string(m, Style::Python))
                .collect();
            let buffered = resource_body(&wrap_collection("projects", members, None, &url()));
            let response = collection_written("projects", &texts, &url(), |t, out| {
                out.extend_from_slice(t.as_bytes())
            });
            assert_eq!(text(response).await, buffered, "{n} members");
        }
    }
}
