//! `GET /api/me`: the user the auth middleware attached.

use nitrous::axum::Extension;

use crate::guarded::User;

#[nitrous::get]
pub async fn get(Extension(user): Extension<User>) -> String {
    format!("hello {}", user.name)
}
