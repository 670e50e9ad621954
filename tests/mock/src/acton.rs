//! Act-On: batch creation (`POST /api/1/user`) and its OAuth endpoint.

use crate::state::Mock;
use crate::wire::{answer, bearer, form, Call};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// Act-On's password rule: 6-30 characters of a-zA-Z0-9!@#$%^&*?|.
fn password_ok(p: &str) -> bool {
    (6..=30).contains(&p.chars().count())
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!@#$%^&*?|".contains(c))
}

pub(crate) async fn create(State(mock): State<Mock>, call: Call) -> Response {
    let Call { headers, body, .. } = call;
    mock.pause().await;
    let token_ok = bearer(&headers).is_some_and(|t| {
        t == mock.config.acton_token || mock.data().issued_tokens.iter().any(|i| i == t)
    });
    if !token_ok {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "access_denied", "error_description": "Invalid or expired access token"}),
        );
    }
    let Ok(Value::Array(specs)) = serde_json::from_slice::<Value>(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "INVALID_REQUEST", "message": "body must be a JSON array of user specs"}),
        );
    };
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let field = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let email = field("email");
        let scripted = mock
            .data()
            .acton_elements
            .get(&email.to_lowercase())
            .cloned();
        if let Some(element) = scripted {
            out.push(element);
            continue;
        }
        let error = |code: &str, message: String| json!({"email": email, "status": "error", "errorCode": code, "errorMessage": message, "errorCodeId": 400});
        let missing = ["userType", "email", "firstName", "lastName", "password"]
            .into_iter()
            .find(|k| field(k).is_empty());
        let element = if let Some(k) = missing {
            error("MISSING_REQUIRED_FIELD", format!("{k} is required"))
        } else if !matches!(field("userType").as_str(), "Marketing" | "Sales") {
            error(
                "INVALID_USER_TYPE",
                "userType must be Marketing or Sales".into(),
            )
        } else if !password_ok(&field("password")) {
            error(
                "INVALID_PASSWORD",
                "password does not meet the policy".into(),
            )
        } else if mock.blocked(&email) {
            error(
                "INVALID_EMAIL_DOMAIN",
                format!("email domain of {email} is not allowed"),
            )
        } else if field("title") == mock.config.missing {
            error(
                "E_NOT_EXIST",
                format!("Sales team {} does not exist", mock.config.missing),
            )
        } else {
            let mut stored = spec.clone();
            if let Some(o) = stored.as_object_mut() {
                o.remove("password");
            }
            if mock.create("acton", &email, stored) {
                json!({
                    "email": email,
                    "status": "ok",
                    "privilegeResponses": [{"privilege": "marketingPrivileges", "status": "ok"}],
                    "confirmationEmailResponse": {"status": "ok"}
                })
            } else {
                error(
                    "USER_ALREADY_EXISTS",
                    format!("a user with email {email} already exists"),
                )
            }
        };
        out.push(element);
    }
    out.reverse(); // the vendor promises no order: match by email
    answer(StatusCode::OK, Value::Array(out))
}

/// Act-On's OAuth endpoint: the password grant and refresh_token.
pub(crate) async fn token(State(mock): State<Mock>, call: Call) -> Response {
    let Call { body, .. } = call;
    let f = form(&body);
    let c = &mock.config;
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != c.acton_client_id || get("client_secret") != c.acton_client_secret {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "access_denied", "error_description": "unknown client"}),
        );
    }
    let granted = match get("grant_type") {
        "password" => {
            mock.data().logins += 1;
            get("username") == c.acton_username && get("password") == c.acton_password
        }
        "refresh_token" => get("refresh_token").starts_with("refresh-"),
        _ => false,
    };
    if !granted {
        return answer(
            StatusCode::FORBIDDEN,
            json!({"error": "invalid_grant", "error_description": "bad credentials"}),
        );
    }
    let n = mock.next_id();
    let access = format!("access-{n}");
    mock.data().issued_tokens.push(access.clone());
    answer(
        StatusCode::OK,
        json!({"access_token": access, "refresh_token": format!("refresh-{n}"), "token_type": "Bearer", "expires_in": mock.config.acton_token_lifetime}),
    )
}
