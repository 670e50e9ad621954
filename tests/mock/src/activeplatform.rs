//! ActivePlatform: one user per creation, lists by page.

use crate::state::Mock;
use crate::wire::{answer, number, query, Call};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// ActivePlatform: `POST users.json?api_token=T`, one user, 201 with the user.
pub(crate) async fn create(State(mock): State<Mock>, call: Call) -> Response {
    let Call { uri, body, .. } = call;
    mock.pause().await;
    if query(&uri).get("api_token") != Some(&mock.config.activeplatform_token) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Invalid API token"}),
        );
    }
    let Ok(user) = serde_json::from_slice::<Value>(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "body is not JSON"}),
        );
    };
    let field = |k: &str| {
        user.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if let Some(k) = ["first_name", "last_name", "password", "email"]
        .into_iter()
        .find(|k| field(k).is_empty())
    {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": format!("{k} is missing")}),
        );
    }
    // This installation's policy; like some real APIs, the refusal quotes the value.
    let password = field("password");
    if password.chars().count() < 10 {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": format!("password {password} is too short (minimum is 10 characters)")}),
        );
    }
    let email = field("email");
    if mock.blocked(&email) {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "email domain is not allowed"}),
        );
    }
    let missing_attribute = user
        .get("custom_attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|a| a["key"] == json!(mock.config.missing));
    if missing_attribute {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": format!("Custom attribute {} does not exist", mock.config.missing)}),
        );
    }
    if mock.exists("activeplatform", &email).is_some() {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "email has already been taken"}),
        );
    }
    let attributes: Vec<Value> = user
        .get("custom_attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| json!({"name": a["key"], "value": a["value"]}))
        .collect();
    let stored = json!({
        "id": 2021053 + mock.next_id(),
        "first_name": field("first_name"),
        "last_name": field("last_name"),
        "middle_name": user.get("middle_name"),
        "email": email,
        "status": "active",
        "custom_attributes": attributes,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    });
    mock.create("activeplatform", &email, stored.clone());
    answer(StatusCode::CREATED, stored)
}

pub(crate) async fn list(State(mock): State<Mock>, call: Call) -> Response {
    let Call { uri, .. } = call;
    let q = query(&uri);
    if q.get("api_token") != Some(&mock.config.activeplatform_token) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Invalid API token"}),
        );
    }
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (page, per_page) = (number("page", 1).max(1), number("per_page", 25));
    let size = per_page.clamp(1, mock.config.page_cap.max(1));
    let (found, _) = mock.listed(
        "activeplatform",
        "email",
        q.get("filters[email]").map(String::as_str),
        (page - 1) * size,
        per_page,
    );
    answer(StatusCode::OK, Value::Array(found))
}
