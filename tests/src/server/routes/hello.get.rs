//! A method suffix: only GET reaches this file; `#[nitrous::handler]` takes the suffix's method.

#[nitrous::handler]
pub async fn hello() -> &'static str {
    "hello from GET"
}
