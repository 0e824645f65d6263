use nitrous::axum::extract::Request;
use nitrous::axum::http::HeaderValue;
use nitrous::axum::middleware::Next;
use nitrous::axum::response::Response;

#[nitrous::middleware]
pub(crate) async fn tag(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert("x-hygiene", HeaderValue::from_static("chained"));
    response
}
