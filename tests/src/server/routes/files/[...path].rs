use nitrous::axum::extract::Path;

#[nitrous::get]
pub async fn file(Path(path): Path<String>) -> String {
    format!("file {path}")
}
