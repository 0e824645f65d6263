#[nitrous::get]
pub(crate) async fn get() -> &'static str {
    "hygienic"
}
