//! Which redirects are followed: a read's, within its origin, a few times.

use reqwest::{Method, StatusCode, Url};

/// The most redirects of one read that are followed (all within its origin).
pub const MAX_REDIRECTS: usize = 5;

pub(super) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A URL's origin as shown: scheme, host and port; never its credentials,
/// path or query.
fn show_origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether a redirect of a `method` request sent to `from` (HTTP `status`, to
/// `to`, after `hops` redirects already followed) is followed. Only a read's
/// (GET, HEAD), only within `from`'s origin (scheme, host and port: a body or
/// a credential never reaches another host), and only a few times; a
/// creation's is never (the vendor may have acted on it). `Err` says why not,
/// showing at most the target's origin.
pub fn redirect_verdict(
    method: &Method,
    status: StatusCode,
    from: &Url,
    to: Option<&Url>,
    hops: usize,
) -> Result<(), String> {
    let head = format!("HTTP {} redirect", status.as_u16());
    let Some(to) = to else {
        return Err(format!("{head} without a usable Location: not followed"));
    };
    if to.origin() != from.origin() {
        return Err(format!(
            "{head} to another origin ({}): refused; roster follows redirects only within {}",
            show_origin(to),
            show_origin(from)
        ));
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        return Err(format!(
            "{head} of a {method}: refused, not sent again (the vendor may have acted on it)"
        ));
    }
    if hops >= MAX_REDIRECTS {
        return Err(format!(
            "{head}: more than {MAX_REDIRECTS} redirects in a row: refused"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_followed_only_for_reads_within_their_origin() {
        let url = |u: &str| Url::parse(u).unwrap();
        let from = url("https://api.example.com/scim/v2/Users?startIndex=1");
        let (get, post) = (Method::GET, Method::POST);
        let found = StatusCode::FOUND;
        let same = url("https://api.example.com/v2/Users?startIndex=1");
        assert_eq!(redirect_verdict(&get, found, &from, Some(&same), 0), Ok(()));
        assert_eq!(
            redirect_verdict(&Method::HEAD, found, &from, Some(&same), 4),
            Ok(())
        );
        let hops = redirect_verdict(&get, found, &from, Some(&same), MAX_REDIRECTS).unwrap_err();
        assert!(hops.contains("more than 5 redirects"), "{hops}");

        // Another scheme, host or port is another origin, whatever the method.
        for other in [
            "http://api.example.com/scim/v2/Users",
            "https://api.example.com:8443/scim/v2/Users",
            "https://evil.example.com/scim/v2/Users",
            "https://user:pw@evil.example.com/steal?token=tok-1#frag",
        ] {
            for method in [&get, &post, &Method::PUT, &Method::PATCH] {
                let why = redirect_verdict(
                    method,
                    StatusCode::TEMPORARY_REDIRECT,
                    &from,
                    Some(&url(other)),
                    0,
                )
                .unwrap_err();
                assert!(
                    why.starts_with("HTTP 307 redirect to another origin (")
                        && why.contains("within https://api.example.com"),
                    "{method} {other}: {why}"
                );
                // The target's origin at most: no credentials, path or query.
                for hidden in ["user", "pw", "steal", "token", "tok-1", "frag", "scim"] {
                    assert!(!why.contains(hidden), "{other}: {why}");
                }
            }
        }

        // A creation is never redirected, not even within its origin.
        for method in [&post, &Method::PUT, &Method::PATCH, &Method::DELETE] {
            for status in [301, 302, 303, 307, 308] {
                let status = StatusCode::from_u16(status).unwrap();
                let why = redirect_verdict(method, status, &from, Some(&same), 0).unwrap_err();
                assert_eq!(
                    why,
                    format!(
                        "HTTP {} redirect of a {method}: refused, not sent again (the vendor may have acted on it)",
                        status.as_u16()
                    )
                );
            }
        }
        // Nowhere to go, or a scheme with no origin: not followed.
        assert!(redirect_verdict(&get, found, &from, None, 0).is_err());
        assert!(redirect_verdict(&get, found, &from, Some(&url("data:text/plain,x")), 0).is_err());
    }
}
