use nitrous::axum::extract::Path;

#[nitrous::get]
pub async fn show(Path(id): Path<String>) -> String {
    format!("user {id}")
}

#[nitrous::delete]
pub async fn remove(Path(id): Path<u32>) -> String {
    format!("deleted user {id}")
}
