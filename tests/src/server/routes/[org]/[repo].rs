use nitrous::axum::extract::Path;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Repo {
    pub org: String,
    pub repo: String,
}

#[nitrous::get]
pub async fn show(Path(Repo { org, repo }): Path<Repo>) -> String {
    format!("repo {org}/{repo}")
}
