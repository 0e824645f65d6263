use nitrous::axum::extract::Path;

#[nitrous::get]
pub async fn post(Path(slug): Path<String>) -> String {
    format!("post {slug}")
}
