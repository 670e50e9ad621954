//! What the mock is told: its credentials and quirks (`Config`), and the
//! misbehaviours it plays on request (`Fault`).

use serde_json::Value;
use std::time::Duration;

/// The mock's settings; `Default` is what the quick start and most tests use.
#[derive(Clone, Debug)]
pub struct Config {
    pub acton_token: String,
    /// The OAuth password grant's client and user.
    pub acton_client_id: String,
    pub acton_client_secret: String,
    pub acton_username: String,
    pub acton_password: String,
    pub activeplatform_token: String,
    pub docusign_token: String,
    pub docusign_account: String,
    /// The JWT grant's app and user, and the public key its assertions must be
    /// signed for (tests/fixtures/docusign-test-key.pub.pem).
    pub docusign_integration_key: String,
    pub docusign_user_id: String,
    pub docusign_public_key: String,
    /// How long a token from `/oauth/token` works.
    pub docusign_token_lifetime: Duration,
    /// The `expires_in` the token answer announces; the real lifetime if unset
    /// (set it longer to play a token revoked early).
    pub docusign_expires_in: Option<u64>,
    pub formsonfire_company: u64,
    pub formsonfire_key: String,
    pub scim_token: String,
    /// Added before every answer.
    pub latency: Duration,
    /// Emails at this domain are refused by every vendor (a vendor-side rule roster
    /// cannot check in advance).
    pub blocked_domain: String,
    /// The most users one page of a list holds, whatever the client asks for
    /// (the server's own cap); small, so that tests page.
    pub page_cap: usize,
    /// How long after its creation an account stays out of lists and searches
    /// (a vendor still processing it, or a lagging search index).
    pub search_lag: Duration,
    /// Whether the SCIM server can filter (its ServiceProviderConfig says so);
    /// when it cannot, a `filter` parameter is refused.
    pub scim_filter: bool,
    /// A value that names something the vendor does not have: a group id, custom
    /// attribute, permission profile or title equal to it is refused with "...
    /// does not exist".
    pub missing: String,
    /// Every creation request, and every Act-On token refresh, is refused with an
    /// error that quotes the request (credentials and passwords included) in
    /// every encoding a vendor might use; nothing is created.
    pub echo: bool,
    /// Seconds an Act-On access token lives (`expires_in`).
    pub acton_token_lifetime: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            acton_token: "mock-acton-token".into(),
            acton_client_id: "mock-client".into(),
            acton_client_secret: "mock-client-secret".into(),
            acton_username: "mock-user".into(),
            acton_password: "mock-user-password".into(),
            activeplatform_token: "mock-ap-token".into(),
            docusign_token: "mock-docusign-token".into(),
            docusign_account: "mock-account".into(),
            docusign_integration_key: "mock-integration-key".into(),
            docusign_user_id: "mock-user-id".into(),
            docusign_public_key: include_str!("../../fixtures/docusign-test-key.pub.pem").into(),
            docusign_token_lifetime: Duration::from_secs(3600),
            docusign_expires_in: None,
            formsonfire_company: 4242,
            formsonfire_key: "mock-fof-key".into(),
            scim_token: "mock-scim-token".into(),
            latency: Duration::ZERO,
            blocked_domain: "blocked.example".into(),
            page_cap: 7,
            search_lag: Duration::ZERO,
            scim_filter: true,
            missing: "missing-0000".into(),
            echo: false,
            acton_token_lifetime: 3600,
        }
    }
}

/// A misbehaviour the mock plays on the next creation request (any kind).
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status without acting, with a Retry-After if given.
    Refuse {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Act, then answer this status.
    CommitThenStatus(u16),
    /// Act, then hold the answer this long (past the client's timeout).
    CommitThenHang(Duration),
    /// Act, then close the connection before the answer is complete.
    CommitThenDrop,
    /// Act, then answer 200 with a body that is not JSON.
    CommitThenGarbage,
    /// Answer exactly this, without acting (a vendor's own throttle answer).
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Value,
    },
}
