//! SCIM 2.0: `/Users` (create, list and filter) and `/ServiceProviderConfig`.

use crate::state::Mock;
use crate::wire::{answer, bearer, number, query, Call};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

pub(crate) fn error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.as_u16().to_string(), "detail": detail});
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    let mut r = answer(status, body);
    r.headers_mut().insert(
        "content-type",
        "application/scim+json".parse().expect("header"),
    );
    r
}

/// SCIM 2.0: `POST /Users`, 201 with id and Location; 409 uniqueness on userName.
pub(crate) async fn create(State(mock): State<Mock>, call: Call) -> Response {
    let Call { headers, body, .. } = call;
    mock.pause().await;
    if bearer(&headers) != Some(mock.config.scim_token.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            None,
            "Authorization failure: bearer token is invalid",
        );
    }
    let Ok(user) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "body is not JSON",
        );
    };
    let core = "urn:ietf:params:scim:schemas:core:2.0:User";
    if !user
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|x| x == core))
    {
        return error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "schemas must hold the core User schema",
        );
    }
    let Some(name) = user
        .get("userName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "userName is required",
        );
    };
    let email = user
        .pointer("/emails/0/value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if mock.blocked(&email) {
        return error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "email domain is not allowed",
        );
    }
    if user.get("externalId") == Some(&json!(mock.config.missing)) {
        return error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            &format!("Group {} does not exist", mock.config.missing),
        );
    }
    if mock.exists("scim", &name).is_some() {
        return error(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            &format!("userName {name} is already taken"),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut stored = user.clone();
    if let Some(o) = stored.as_object_mut() {
        o.remove("password");
        o.insert("id".into(), json!(id));
        o.insert(
            "meta".into(),
            json!({"resourceType": "User", "location": format!("/scim/v2/Users/{id}")}),
        );
    }
    mock.create("scim", &name, stored.clone());
    let mut r = answer(StatusCode::CREATED, stored);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        "application/scim+json".parse().expect("header"),
    );
    h.insert(
        "location",
        format!("/scim/v2/Users/{id}").parse().expect("header"),
    );
    r
}

pub(crate) async fn list(State(mock): State<Mock>, call: Call) -> Response {
    let Call { uri, headers, .. } = call;
    if bearer(&headers) != Some(mock.config.scim_token.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            None,
            "Authorization failure: bearer token is invalid",
        );
    }
    let q = query(&uri);
    let wanted = match q.get("filter") {
        None => None,
        Some(_) if !mock.config.scim_filter => {
            return error(
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
                "filtering is not supported",
            )
        }
        Some(filter) => {
            let Some(name) = filter
                .strip_prefix("userName eq \"")
                .and_then(|f| f.strip_suffix('"'))
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    "only userName eq \"...\" is supported",
                );
            };
            Some(name.replace("\\\"", "\"").replace("\\\\", "\\"))
        }
    };
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (start, count) = (number("startIndex", 1).max(1), number("count", 100));
    let (found, total) = mock.listed("scim", "userName", wanted.as_deref(), start - 1, count);
    answer(
        StatusCode::OK,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
               "totalResults": total, "startIndex": start, "itemsPerPage": found.len(),
               "Resources": found}),
    )
}

/// SCIM's ServiceProviderConfig: what the server supports.
/// Taking the `Call` records the request; nothing in it changes the answer.
pub(crate) async fn config(State(mock): State<Mock>, _recorded: Call) -> Response {
    answer(
        StatusCode::OK,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
               "filter": {"supported": mock.config.scim_filter, "maxResults": mock.config.page_cap},
               "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
               "patch": {"supported": false}, "changePassword": {"supported": false},
               "sort": {"supported": false}, "etag": {"supported": false},
               "authenticationSchemes": []}),
    )
}
