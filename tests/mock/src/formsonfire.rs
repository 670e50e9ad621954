//! Forms On Fire: creation with credentials in the body, search by page.

use crate::state::Mock;
use crate::wire::{answer, number, query, Call};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

pub(crate) fn error(status: StatusCode, code: &str, message: &str, errors: Value) -> Response {
    answer(
        status,
        json!({"ResponseStatus": {"ErrorCode": code, "Message": message, "Errors": errors}}),
    )
}

/// Forms On Fire: `POST /user?format=json`, credentials in the body.
pub(crate) async fn create(State(mock): State<Mock>, call: Call) -> Response {
    let Call { headers, body, .. } = call;
    mock.pause().await;
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let user = match serde_json::from_slice::<Value>(&body) {
        Ok(u) if json_body => u,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "Could not deserialize 'application/xml' request",
                json!([]),
            )
        }
    };
    let c = &mock.config;
    if user.get("CompanyId").and_then(Value::as_u64) != Some(c.formsonfire_company)
        || user.get("IntegrationKey").and_then(Value::as_str) != Some(c.formsonfire_key.as_str())
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Invalid CompanyId or IntegrationKey",
            json!([]),
        );
    }
    let field = |k: &str| {
        user.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let invalid = |code: &str, name: &str, message: &str| {
        error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Validation failed",
            json!([{"ErrorCode": code, "FieldName": name, "Message": message}]),
        )
    };
    if let Some(k) = ["FirstName", "LastName", "Email"]
        .into_iter()
        .find(|k| field(k).is_empty())
    {
        return invalid("NotEmpty", k, &format!("'{k}' must not be empty."));
    }
    if field("ExternalId").chars().count() > 50 {
        return invalid(
            "MaximumLength",
            "ExternalId",
            "'ExternalId' must be 50 characters or fewer.",
        );
    }
    let email = field("Email");
    if mock.blocked(&email) {
        return invalid("InvalidEmail", "Email", "Email domain is not allowed.");
    }
    if field("TimeZone") == mock.config.missing {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Time zone {} does not exist", mock.config.missing),
            json!([]),
        );
    }
    if mock.exists("formsonfire", &email).is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "DuplicateEmail",
            "A user with this email address already exists.",
            json!([]),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut stored = user.clone();
    if let Some(o) = stored.as_object_mut() {
        o.remove("IntegrationKey");
        o.remove("Password");
        o.insert("Id".into(), json!(id));
        o.insert("Status".into(), json!("Invited"));
    }
    mock.create("formsonfire", &email, stored);
    answer(
        StatusCode::OK,
        json!({"User": {"Id": id, "Status": "Invited", "Email": email}, "ResponseStatus": {}}),
    )
}

pub(crate) async fn search(State(mock): State<Mock>, call: Call) -> Response {
    let Call { uri, .. } = call;
    let q = query(&uri);
    let c = &mock.config;
    if q.get("CompanyId") != Some(&c.formsonfire_company.to_string())
        || q.get("IntegrationKey") != Some(&c.formsonfire_key)
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Invalid CompanyId or IntegrationKey",
            json!([]),
        );
    }
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (page, size) = (number("PageNo", 0), number("PageSize", 25).min(250));
    let cap = size.clamp(1, mock.config.page_cap.max(1));
    let (found, _) = mock.listed(
        "formsonfire",
        "Email",
        q.get("Email").map(String::as_str),
        page * cap,
        size,
    );
    answer(
        StatusCode::OK,
        json!({"Users": found, "ResponseStatus": {}}),
    )
}
