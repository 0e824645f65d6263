use nitrous::axum::Json;
use serde_json::{Value, json};

#[nitrous::handler]
pub async fn hello(Json(body): Json<Value>) -> Json<Value> {
    Json(json!({ "method": "POST", "got": body }))
}
