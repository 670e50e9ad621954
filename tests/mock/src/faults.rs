//! The middleware in front of every vendor route: it counts creations in
//! flight, plays the scripted faults, fails lists on request, and echoes
//! requests back (`Config::echo`).

use crate::config::Fault;
use crate::formsonfire;
use crate::scim;
use crate::state::Mock;
use crate::wire::{answer, form};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Counts creation requests in flight and plays the next scripted fault.
pub(crate) async fn observe(
    State(mock): State<Mock>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if mock.config.echo && request.method() == Method::POST {
        return echo(&mock, request, next).await;
    }
    if request.method() == Method::GET
        && !request.uri().path().ends_with("/ServiceProviderConfig")
        && mock.data().failing_lists
    {
        mock.record(request.method(), request.uri(), request.headers(), b"");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "list endpoint down (injected)"}),
        );
    }
    let creation = request.method() == Method::POST && !request.uri().path().ends_with("/token");
    if !creation {
        return next.run(request).await;
    }
    let kind = request
        .uri()
        .path()
        .split('/')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    {
        let mut data = mock.data();
        let now = {
            let n = data.in_flight.entry(kind.clone()).or_default();
            *n += 1;
            *n
        };
        let max = data.max_in_flight.entry(kind.clone()).or_default();
        *max = (*max).max(now);
    }
    // Counted down even when the client hangs up and the answer is dropped.
    struct Leaving(Mock, String);
    impl Drop for Leaving {
        fn drop(&mut self) {
            if let Some(n) = self.0.data().in_flight.get_mut(&self.1) {
                *n -= 1;
            }
        }
    }
    let _leaving = Leaving(mock.clone(), kind);
    play_fault(&mock, request, next).await
}

/// Plays the next scripted fault, if any.
async fn play_fault(
    mock: &Mock,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let fault = mock.data().faults.pop_front();
    let Some(fault) = fault else {
        return next.run(request).await;
    };
    mock.data().faulted.push(format!("{fault:?}"));
    match fault {
        Fault::Refuse {
            status,
            retry_after,
        } => {
            // Refused before the handler runs: recorded here, without its body.
            mock.record(request.method(), request.uri(), request.headers(), b"");
            let mut r = answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                json!({"error": "injected"}),
            );
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert("retry-after", secs.to_string().parse().expect("header"));
            }
            r
        }
        Fault::CommitThenStatus(status) => {
            let _ = next.run(request).await;
            answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"error": "injected after commit"}),
            )
        }
        Fault::CommitThenHang(wait) => {
            let r = next.run(request).await;
            tokio::time::sleep(wait).await;
            r
        }
        Fault::CommitThenDrop => {
            let _ = next.run(request).await;
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
            });
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(axum::body::Body::from_stream(broken))
                .expect("response")
        }
        Fault::CommitThenGarbage => {
            let _ = next.run(request).await;
            (StatusCode::OK, "<html><body>upstream hiccup</body></html>").into_response()
        }
        Fault::Answer {
            status,
            headers,
            body,
        } => {
            mock.record(request.method(), request.uri(), request.headers(), b"");
            let mut r = answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                body,
            );
            for (name, value) in headers {
                r.headers_mut()
                    .insert(name, value.parse().expect("header value"));
            }
            r
        }
    }
}

/// `Config::echo`: the request quoted back in every encoding, as the error each
/// vendor would answer (per user where the vendor answers per user). Act-On
/// logins go through, so that requests carry the tokens they hand out.
async fn echo(
    mock: &Mock,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    if path.ends_with("/token")
        && form(&body).get("grant_type").map(String::as_str) != Some("refresh_token")
    {
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(body));
        return next.run(request).await;
    }
    mock.record(&parts.method, &parts.uri, &parts.headers, &body);
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let quoted = format!(
        "{} {}?{} authorization={auth} body={}",
        parts.method,
        path,
        parts.uri.query().unwrap_or(""),
        String::from_utf8_lossy(&body)
    );
    let percent = |lower: bool, plus: bool| -> String {
        quoted
            .bytes()
            .map(|b| match b {
                b' ' if plus => "+".to_string(),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ if lower => format!("%{b:02x}"),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let json = serde_json::to_string(&quoted).unwrap_or_default();
    let text = [
        format!("raw: {quoted}"),
        format!("url: {}", percent(false, false)),
        format!("url-lower: {}", percent(true, false)),
        format!("form: {}", percent(false, true)),
        format!("json: {json}"),
        format!("php-json: {}", json.replace('/', "\\/")),
        format!("base64: {}", STANDARD.encode(&quoted)),
        format!("base64url: {}", URL_SAFE_NO_PAD.encode(&quoted)),
    ]
    .join(" | ");
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
    let emails = |list: Option<&Value>| -> Vec<Value> {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|u| u["email"].clone())
            .collect()
    };
    if path.contains("/acton/api/") {
        let out: Vec<Value> = emails(Some(&parsed))
            .into_iter()
            .map(|email| json!({"email": email, "status": "error", "errorCode": "ECHO", "errorMessage": text}))
            .collect();
        answer(StatusCode::OK, Value::Array(out))
    } else if path.ends_with("/token") {
        answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": text}),
        )
    } else if path.contains("/docusign/") {
        let out: Vec<Value> = emails(parsed.get("newUsers"))
            .into_iter()
            .map(|email| json!({"email": email, "errorDetails": {"errorCode": "ECHO", "message": text}}))
            .collect();
        answer(StatusCode::CREATED, json!({ "newUsers": out }))
    } else if path.contains("/formsonfire/") {
        formsonfire::error(StatusCode::BAD_REQUEST, "ECHO", &text, json!([]))
    } else if path.contains("/scim/") {
        scim::error(StatusCode::BAD_REQUEST, Some("invalidValue"), &text)
    } else {
        answer(StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": text }))
    }
}
