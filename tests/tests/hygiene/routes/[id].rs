use nitrous::axum::extract::Path;

#[nitrous::get]
pub(crate) async fn item(Path(id): Path<u32>) -> String {
    format!("item {id}")
}
