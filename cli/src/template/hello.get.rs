//! `GET /api/hello`: a plain HTTP handler (the file name says the method).

#[nitrous::get]
pub async fn get() -> &'static str {
    "Hello from nitrous!"
}
