//! `blog.rs` beside the `blog/` folder: one module `routes::blog` holding both.

/// A type route code elsewhere can name as `routes::blog::Post`.
#[derive(Debug, serde::Serialize)]
pub struct Post {
    pub slug: &'static str,
}

#[nitrous::get]
pub async fn index() -> nitrous::axum::Json<Vec<Post>> {
    nitrous::axum::Json(vec![Post { slug: "first" }])
}
