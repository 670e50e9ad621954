//! A vendor's answer: read whole up to `max_response`, and described for
//! error messages whatever its shape, the vendor's words sanitised.

use reqwest::StatusCode;

/// Why an answer's body was not read whole.
pub(super) enum BodyError {
    /// Larger than `max_response`: the message says so.
    TooLarge(String),
    /// The connection failed or timed out while it arrived.
    Failed(reqwest::Error),
}

/// The error of an answer larger than `cap`, naming the vendor, the cap and
/// the setting that raises it.
fn too_large(vendor: &str, cap: u64, seen: &str) -> String {
    format!(
        "{vendor}: the answer is larger than max_response {} ({seen}): not read; raise `max_response` for this vendor if such an answer is expected",
        bytesize::ByteSize(cap)
    )
}

/// The answer's body, read as it arrives and never past `cap` bytes:
/// refused up front if its `Content-Length` says more, and as soon as more
/// has arrived otherwise (a chunked body states no length).
pub(super) async fn read_body(
    vendor: &str,
    cap: u64,
    mut resp: reqwest::Response,
) -> Result<Vec<u8>, BodyError> {
    if let Some(length) = resp.content_length().filter(|l| *l > cap) {
        return Err(BodyError::TooLarge(too_large(
            vendor,
            cap,
            &format!("its Content-Length says {length} bytes"),
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Failed)? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(BodyError::TooLarge(too_large(
                vendor,
                cap,
                &format!("more than {cap} bytes arrived"),
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error answer as "HTTP 401 access_denied: bad token", whatever the vendor's
/// error shape (OAuth, Act-On, DocuSign, ServiceStack, SCIM); the vendor's
/// words sanitised (see [`crate::secret::sanitise`]).
pub fn describe(status: StatusCode, body: &[u8]) -> String {
    crate::secret::sanitise(&describe_raw(status, body))
}

fn describe_raw(status: StatusCode, body: &[u8]) -> String {
    let head = format!("HTTP {}", status.as_u16());
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = snippet(body);
        return if text.is_empty() {
            head
        } else {
            format!("{head}: {text}")
        };
    };
    let v = v.get("ResponseStatus").unwrap_or(&v);
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(|x| x.as_str()).filter(|s| !s.is_empty()))
            .map(str::to_string)
    };
    let code = pick(&["errorCode", "ErrorCode", "error", "scimType", "code"]);
    let message = pick(&[
        "message",
        "Message",
        "errorMessage",
        "error_description",
        "detail",
    ]);
    match (code, message) {
        (Some(c), Some(m)) => format!("{head} {c}: {m}"),
        (Some(c), None) => format!("{head} {c}"),
        (None, Some(m)) => format!("{head}: {m}"),
        (None, None) => format!("{head}: {}", snippet(body)),
    }
}

/// The start of a body, on one line and sanitised, for error messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let one_line = if one_line.chars().count() > 200 {
        format!("{}...", one_line.chars().take(200).collect::<String>())
    } else {
        one_line
    };
    crate::secret::sanitise(&one_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_every_error_shape() {
        let cases = [
            (
                401,
                r#"{"error":"access_denied","error_description":"bad token"}"#,
                "HTTP 401 access_denied: bad token",
            ),
            (
                400,
                r#"{"errorCode":"INVALID_EMAIL","message":"nope"}"#,
                "HTTP 400 INVALID_EMAIL: nope",
            ),
            (
                400,
                r#"{"ResponseStatus":{"ErrorCode":"Dup","Message":"exists"}}"#,
                "HTTP 400 Dup: exists",
            ),
            (
                409,
                r#"{"scimType":"uniqueness","detail":"taken","status":"409"}"#,
                "HTTP 409 uniqueness: taken",
            ),
            (
                422,
                r#"{"error":"password is missing"}"#,
                "HTTP 422 password is missing",
            ),
            (
                502,
                "<html>\n bad   gateway</html>",
                "HTTP 502: <html> bad gateway</html>",
            ),
            (500, "", "HTTP 500"),
            (
                400,
                "{\"detail\":\"no\\u001b[2J\\r Apply: 5 created\"}",
                "HTTP 400: no\\u{1b}[2J\\u{d} Apply: 5 created",
            ),
            (
                502,
                "\u{1b}]8;;http://evil\u{7}x\u{1b}]8;;\u{7}\u{202e}",
                "HTTP 502: \\u{1b}]8;;http://evil\\u{7}x\\u{1b}]8;;\\u{7}\\u{202e}",
            ),
        ];
        for (status, body, want) in cases {
            assert_eq!(
                describe(StatusCode::from_u16(status).unwrap(), body.as_bytes()),
                want
            );
        }
    }

    #[test]
    fn an_answer_too_large_names_the_vendor_the_cap_and_the_setting() {
        let msg = too_large("app", 8 << 20, "its Content-Length says 9000000 bytes");
        assert_eq!(
            msg,
            "app: the answer is larger than max_response 8.0 MiB (its Content-Length says 9000000 bytes): not read; raise `max_response` for this vendor if such an answer is expected"
        );
    }
}
