use nitrous::axum::Json;
use nitrous::axum::extract::{Query, State};
use serde::Deserialize;

use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct Page {
    pub limit: Option<usize>,
}

#[nitrous::get]
pub async fn list(State(state): State<AppState>, Query(page): Query<Page>) -> Json<Vec<String>> {
    let users = ["ada", "grace", "linus"].iter().take(page.limit.unwrap_or(3));
    Json(users.map(|u| format!("{}{u}", state.greeting)).collect())
}

#[derive(Debug, Deserialize)]
pub struct NewUser {
    pub name: String,
}

#[nitrous::post]
pub async fn create(Json(user): Json<NewUser>) -> (nitrous::axum::http::StatusCode, String) {
    (nitrous::axum::http::StatusCode::CREATED, format!("created {}", user.name))
}
