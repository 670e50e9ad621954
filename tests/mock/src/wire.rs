//! Small pieces of HTTP every vendor's routes share: the request as a handler
//! takes it (recorded on the way), credentials, JSON answers, form and query
//! parameters.

use crate::state::Mock;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::collections::BTreeMap;

/// A request to a vendor route as its handler reads it. Taking it records it
/// in the mock's log, so every route is recorded once, before it answers.
pub(crate) struct Call {
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl FromRequest<Mock> for Call {
    type Rejection = Response;

    async fn from_request(request: Request, mock: &Mock) -> Result<Call, Response> {
        let (method, uri, headers) = (
            request.method().clone(),
            request.uri().clone(),
            request.headers().clone(),
        );
        let body = Bytes::from_request(request, mock)
            .await
            .map_err(IntoResponse::into_response)?;
        mock.record(&method, &uri, &headers, &body);
        Ok(Call { uri, headers, body })
    }
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// `body` as JSON with `status`.
pub(crate) fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// The parameters of a form body or query string (the last of a repeated one).
pub(crate) fn form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A number from a query, or `default`.
pub(crate) fn number(q: &BTreeMap<String, String>, key: &str, default: usize) -> usize {
    q.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The parameters of `uri`'s query.
pub(crate) fn query(uri: &Uri) -> BTreeMap<String, String> {
    form(uri.query().unwrap_or_default().as_bytes())
}
