//! DocuSign eSignature: the OAuth JWT grant, batch creation with per-user
//! errors, and lists by start position.

use crate::state::Mock;
use crate::wire::{answer, bearer, form, number, query, Call};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    answer(status, json!({"errorCode": code, "message": message}))
}

/// A 401 unless the request carries the configured token or one from
/// `/oauth/token` that has not expired.
fn refusal(mock: &Mock, headers: &HeaderMap) -> Option<Response> {
    let token = bearer(headers).unwrap_or_default();
    let mut data = mock.data();
    let issued = data
        .docusign_tokens
        .iter()
        .find(|(t, _)| t == token)
        .map(|(_, expires)| *expires);
    let ok = match issued {
        Some(expires) if expires <= std::time::Instant::now() => {
            data.docusign_expired += 1;
            false
        }
        Some(_) => true,
        None => token == mock.config.docusign_token,
    };
    (!ok).then(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "AUTHORIZATION_INVALID_TOKEN",
            "The access token provided is expired, revoked or malformed.",
        )
    })
}

/// DocuSign's OAuth JWT grant: an RS256 assertion from the configured app and
/// user, for this host, with the signature scopes, valid at most an hour.
pub(crate) async fn token(State(mock): State<Mock>, call: Call) -> Response {
    use jsonwebtoken::errors::ErrorKind;
    let Call { headers, body, .. } = call;
    let refuse = |error: &str, description: &str| {
        answer(
            StatusCode::BAD_REQUEST,
            json!({"error": error, "error_description": description}),
        )
    };
    let f = form(&body);
    if f.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refuse("unsupported_grant_type", "grant_type must be jwt-bearer");
    }
    let Some(assertion) = f.get("assertion") else {
        return refuse("invalid_request", "assertion is missing");
    };
    mock.data().docusign_logins += 1;
    let c = &mock.config;
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(c.docusign_public_key.as_bytes()) else {
        return refuse("invalid_grant", "no_valid_keys_or_signatures");
    };
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let mut rules = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    rules.leeway = 0;
    rules.set_audience(&[host]);
    rules.set_issuer(&[&c.docusign_integration_key]);
    rules.sub = Some(c.docusign_user_id.clone());
    rules.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &rules) {
        Ok(data) => data.claims,
        Err(e) => {
            let description = match e.kind() {
                ErrorKind::InvalidIssuer => "issuer_not_found",
                ErrorKind::InvalidSubject => "user_not_found",
                ErrorKind::ExpiredSignature => "expired assertion",
                ErrorKind::InvalidAudience => "invalid audience",
                _ => "no_valid_keys_or_signatures",
            };
            return refuse("invalid_grant", description);
        }
    };
    let number = |k: &str| claims.get(k).and_then(Value::as_u64).unwrap_or_default();
    if number("exp").saturating_sub(number("iat")) > 3600 {
        return refuse(
            "invalid_grant",
            "the assertion may be valid at most an hour",
        );
    }
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !scope.split(' ').any(|s| s == "signature")
        || !scope.split(' ').any(|s| s == "impersonation")
    {
        return refuse("consent_required", "consent_required");
    }
    let access = format!("ds-access-{}", mock.next_id());
    let expires = std::time::Instant::now() + c.docusign_token_lifetime;
    mock.data().docusign_tokens.push((access.clone(), expires));
    let expires_in = c
        .docusign_expires_in
        .unwrap_or(c.docusign_token_lifetime.as_secs());
    answer(
        StatusCode::OK,
        json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in}),
    )
}

/// DocuSign: `POST .../accounts/{id}/users` with newUsers; per-user errorDetails.
pub(crate) async fn create(
    State(mock): State<Mock>,
    axum::extract::Path(account): axum::extract::Path<String>,
    call: Call,
) -> Response {
    let Call { headers, body, .. } = call;
    mock.pause().await;
    if let Some(refused) = refusal(&mock, &headers) {
        return refused;
    }
    if account != mock.config.docusign_account {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ACCOUNT_ID",
            "Invalid account ID.",
        );
    }
    let Some(users) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("newUsers").and_then(Value::as_array).cloned())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "The request body is missing or improperly formatted: newUsers.",
        );
    };
    if users.len() > 500 {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "At most 500 users per call.",
        );
    }
    let mut out = Vec::new();
    for user in users {
        let field = |k: &str| {
            user.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (email, name) = (field("email"), field("userName"));
        let failed = |code: &str, message: &str| json!({"email": email, "userName": name, "errorDetails": {"errorCode": code, "message": message}});
        let element = if name.is_empty() {
            failed("INVALID_USERNAME_FOR_USER", "The user name is invalid.")
        } else if email.is_empty() || mock.blocked(&email) {
            failed(
                "INVALID_EMAIL_ADDRESS_FOR_USER",
                "The email address for the user is invalid.",
            )
        } else if user
            .get("groupList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|g| g["groupId"] == json!(mock.config.missing))
        {
            failed(
                "INVALID_GROUP_ID",
                &format!("Group {} does not exist", mock.config.missing),
            )
        } else if let Some(existing) = mock.exists("docusign", &email) {
            let mut e = failed(
                "USER_ALREADY_EXISTS_IN_ACCOUNT",
                "Username and email combination already exists for this account.",
            );
            e["userId"] = existing["userId"].clone();
            e
        } else {
            let id = uuid::Uuid::new_v4().to_string();
            let mut stored = user.clone();
            stored["userId"] = json!(id);
            stored["userStatus"] = json!("ActivationSent");
            mock.create("docusign", &email, stored);
            json!({"userId": id, "uri": format!("/users/{id}"), "email": email, "userName": name,
                   "userStatus": "ActivationSent", "createdDateTime": "2026-01-01T00:00:00.0000000Z"})
        };
        out.push(element);
    }
    let mut response = answer(StatusCode::CREATED, json!({"newUsers": out}));
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", "3000".parse().expect("header"));
    h.insert("x-ratelimit-remaining", "2999".parse().expect("header"));
    response
}

pub(crate) async fn list(State(mock): State<Mock>, call: Call) -> Response {
    let Call { uri, headers, .. } = call;
    if let Some(refused) = refusal(&mock, &headers) {
        return refused;
    }
    let q = query(&uri);
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (start, count) = (number("start_position", 0), number("count", 100).min(100));
    let (found, total) = mock.listed(
        "docusign",
        "email",
        q.get("email").map(String::as_str),
        start,
        count,
    );
    let end = start + found.len();
    let mut body = json!({
        "users": found,
        "resultSetSize": found.len().to_string(),
        "totalSetSize": total.to_string(),
        "startPosition": start.to_string(),
        "endPosition": end.saturating_sub(1).to_string(),
    });
    if end < total {
        body["nextUri"] = json!(format!(
            "/v2.1/accounts/{}/users?start_position={end}&count={count}",
            mock.config.docusign_account
        ));
    }
    answer(StatusCode::OK, body)
}
