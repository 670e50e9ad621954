//! DocuSign's JWT grant: an RSA key signs an assertion that `/oauth/token`
//! trades for an access token (cached and renewed by `auth::Bearer`).

use super::Settings;
use super::{oauth_url, OAUTH_BASE_URL};
use crate::model::Env;
use crate::secret::Secret;
use crate::vendors::auth::{Grant, Token};
use crate::vendors::http::{Call, CallError, Http};
use crate::vendors::resolve;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// The OAuth JWT bearer grant (RFC 7523) as DocuSign speaks it.
pub(super) struct JwtGrant {
    token_url: String,
    /// The OAuth host, e.g. `account-d.docusign.com`: the assertion's `aud`.
    audience: String,
    integration_key: String,
    user_id: String,
    /// The RSA private key, PEM.
    pub(super) key: Secret,
}

/// The claims DocuSign asks of the assertion.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    scope: &'static str,
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid; DocuSign takes at most an hour.
const ASSERTION_LIFETIME: u64 = 3600;

/// How long an access token lives when the answer does not say.
const TOKEN_LIFETIME: u64 = 3600;

impl JwtGrant {
    pub(super) fn new(s: &Settings, env: Env) -> anyhow::Result<JwtGrant> {
        let needs = |key: &str| anyhow::anyhow!("the JWT grant needs `{key}`");
        let oauth = match &s.oauth_base_url {
            Some(t) => resolve("oauth_base_url", t, env)?,
            None => OAUTH_BASE_URL.to_string(),
        };
        let url = oauth_url(&oauth).map_err(anyhow::Error::msg)?;
        let host = url.host_str().unwrap_or_default();
        let audience = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let (source, pem) = if let Some(key) = &s.private_key {
            let pem = resolve("private_key", key, env)?;
            // A PEM squeezed onto one line, as some CI secret stores keep it.
            let pem = if pem.contains('\n') {
                pem
            } else {
                pem.replace("\\n", "\n")
            };
            ("`private_key`".to_string(), pem)
        } else {
            let file = s
                .private_key_file
                .as_ref()
                .ok_or_else(|| needs("private_key"))?;
            let path = resolve("private_key_file", file, env)?;
            // As written in the file: a `${VAR}`'s value is never shown.
            let written = file.raw();
            let source = format!("`private_key_file` {written:?}");
            let pem = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{source}: cannot read it: {e}"))?;
            (source, pem)
        };
        let grant = JwtGrant {
            token_url: format!("{}/oauth/token", oauth.trim_end_matches('/')),
            audience,
            integration_key: resolve(
                "integration_key",
                s.integration_key
                    .as_ref()
                    .ok_or_else(|| needs("integration_key"))?,
                env,
            )?,
            user_id: resolve(
                "user_id",
                s.user_id.as_ref().ok_or_else(|| needs("user_id"))?,
                env,
            )?,
            key: Secret::new(pem),
        };
        // Signed once now, so a key that cannot sign stops the run before anything is sent.
        grant
            .assertion()
            .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        Ok(grant)
    }

    /// A signed assertion, valid for an hour from now.
    fn assertion(&self) -> Result<Secret, String> {
        // The parser's own error may quote a byte of the key: not shown.
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(self.key.expose().as_bytes())
            .map_err(|_| {
                "not an RSA private key in PEM (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)".to_string()
            })?;
        let iat = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            iss: &self.integration_key,
            sub: &self.user_id,
            aud: &self.audience,
            iat,
            exp: iat + ASSERTION_LIFETIME,
            scope: "signature impersonation",
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        jsonwebtoken::encode(&header, &claims, &key)
            .map(Secret::new)
            .map_err(|e| {
                format!(
                    "cannot sign with this key (RS256; is it the public one?): {:?}",
                    e.kind()
                )
            })
    }
}

#[async_trait]
impl Grant for JwtGrant {
    /// Trades a new assertion for an access token. Whatever goes wrong, the
    /// request that needed the token was not sent.
    async fn obtain(&self, http: &Http, _previous: Option<&Token>) -> Result<Token, CallError> {
        let failed =
            |why: String| CallError::NotSent(format!("DocuSign login (JWT grant) failed: {why}"));
        let assertion = self.assertion().map_err(failed)?;
        http.redactor().add(&assertion);
        let request = http.build(http.client().post(&self.token_url).form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.expose()),
        ]))?;
        // Asking again for a token does no harm: a read as far as retries go.
        let response = http
            .send(Call::Read, request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status.is_success() {
            // Redacted by `http`, which knows the assertion (added above).
            let message = http.failure(&response).to_string();
            let hint = if message.contains("consent_required") {
                "; the user `user_id` must grant the integration consent once (see README)"
            } else {
                ""
            };
            return Err(failed(format!("{message}{hint}")));
        }
        // Read by hand: an error quoting the answer would quote the token.
        let answer: Value = serde_json::from_slice(&response.body)
            .map_err(|_| failed("the token answer is not JSON".into()))?;
        let access = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| failed("the token answer has no access_token".into()))?;
        let lifetime = answer
            .get("expires_in")
            .and_then(|e| e.as_u64().or_else(|| e.as_str()?.trim().parse().ok()))
            .unwrap_or(TOKEN_LIFETIME);
        // A day at most (see `Token::new`), renewed a quarter early, a minute at most.
        let lifetime = Duration::from_secs(lifetime.min(86_400));
        let margin = (lifetime / 4).min(Duration::from_secs(60));
        tracing::info!(
            expires_in = lifetime.as_secs(),
            "obtained a DocuSign access token (JWT grant)"
        );
        Ok(Token::new(access, None, lifetime, margin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::docusign::tests::{config, JWT_SETTINGS};
    use serde::Deserialize;

    const KEY: &str = include_str!("../../../tests/fixtures/docusign-test-key.pem");

    const KEY_PKCS8: &str = include_str!("../../../tests/fixtures/docusign-test-key.pkcs8.pem");

    const PUBLIC: &str = include_str!("../../../tests/fixtures/docusign-test-key.pub.pem");

    fn grant(settings: &str, key: &str) -> anyhow::Result<JwtGrant> {
        let key = key.to_string();
        JwtGrant::new(&config(settings), &move |v| {
            (v == "KEY").then(|| key.clone())
        })
    }

    #[derive(Deserialize)]
    struct Got {
        iss: String,
        sub: String,
        aud: String,
        iat: u64,
        exp: u64,
        scope: String,
    }

    fn verify(assertion: &Secret, aud: &str) -> Got {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[aud]);
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
        jsonwebtoken::decode::<Got>(assertion.expose(), &key, &validation)
            .unwrap()
            .claims
    }

    #[test]
    fn the_assertion_carries_docusigns_claims_signed_rs256() {
        let one_line = KEY.trim().replace('\n', "\\n");
        for key in [KEY, KEY_PKCS8, &one_line] {
            let g = grant(JWT_SETTINGS, key).unwrap();
            assert_eq!(g.token_url, "https://account.docusign.com/oauth/token");
            let got = verify(&g.assertion().unwrap(), "account.docusign.com");
            assert_eq!((got.iss.as_str(), got.sub.as_str()), ("ik", "uid"));
            assert_eq!(got.aud, "account.docusign.com");
            assert_eq!(got.scope, "signature impersonation");
            assert_eq!(got.exp - got.iat, 3600);
        }
        let demo = format!("{JWT_SETTINGS}, oauth_base_url: 'http://127.0.0.1:8787/docusign/'");
        let g = grant(&demo, KEY).unwrap();
        assert_eq!(g.token_url, "http://127.0.0.1:8787/docusign/oauth/token");
        assert_eq!(
            verify(&g.assertion().unwrap(), "127.0.0.1:8787").aud,
            "127.0.0.1:8787"
        );
    }

    #[test]
    fn a_key_that_cannot_sign_is_refused_before_anything_is_sent() {
        let not_pem = grant(JWT_SETTINGS, "hunter2-not-a-key").err().unwrap();
        let text = format!("{not_pem:#}");
        assert!(text.contains("not an RSA private key in PEM"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let garbled = KEY.replace("MII", "MIX");
        let text = format!("{:#}", grant(JWT_SETTINGS, &garbled).err().unwrap());
        assert!(
            text.starts_with("`private_key`: not an RSA private key"),
            "{text}"
        );
        let public = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(public.path(), PUBLIC).unwrap();
        let path = public.path().display();
        let settings = format!("integration_key: ik, user_id: uid, private_key_file: '{path}'");
        let text = format!("{:#}", grant(&settings, KEY).err().unwrap());
        assert_eq!(
            text,
            format!("`private_key_file` \"{path}\": cannot sign with this key (RS256; is it the public one?): InvalidRsaKey(\"InvalidEncoding\")")
        );
        let missing = grant(
            "integration_key: ik, user_id: uid, private_key_file: /nonexistent/k.pem",
            KEY,
        )
        .err()
        .unwrap();
        assert!(
            format!("{missing:#}")
                .contains("`private_key_file` \"/nonexistent/k.pem\": cannot read it"),
            "{missing:#}"
        );
    }
}
