//! What roster prints and writes, against a hostile vendor: a `dump` pasted
//! back into roster.yaml holds exactly the vendor's accounts (no user, key or
//! role a vendor's text smuggled in), vendor text reaches no terminal with a
//! control character in it, and no interpolated value is ever printed.

use crate::support::{Config, Server, Test};
use serde_json::json;

/// A YAML list item that a value holding U+2028 would start, were it written raw.
const SMUGGLED: &str =
    "\u{2028}  - email: mallory@evil.com\u{2028}    password: generate\u{2028}    roles: [admin]";

/// roster.yaml's head for an ActivePlatform vendor `ap` on `url`, with a role
/// that grants something.
fn ap_head(url: &str) -> String {
    format!(
        "version: 1\nvendors:\n  ap:\n    kind: activeplatform\n    base_url: {url}/activeplatform\n    api_token: ${{AP_TOKEN}}\n    rate_limit: 1000/s\nroles:\n  admin:\n    ap: {{ custom_attributes: {{ level: admin }} }}\n"
    )
}

#[test]
fn a_dump_pasted_back_into_roster_yaml_creates_no_one_and_grants_no_role() {
    let server = Server::start(Config::default());
    let token = server.mock.config.activeplatform_token.clone();
    // A live account whose first name and custom attribute key and value
    // carry a list item; a closed one whose id does.
    server.mock.seed(
        "activeplatform",
        "alice@example.com",
        json!({
            "id": 501, "email": "alice@example.com", "status": "active",
            "first_name": format!("Alice{SMUGGLED}"), "last_name": "Liddell",
            "custom_attributes": [
                {"name": format!("team{SMUGGLED}"), "value": format!("red{SMUGGLED}")},
            ],
        }),
    );
    server.mock.seed(
        "activeplatform",
        "carol@example.com",
        json!({
            "id": format!("77{SMUGGLED}"), "email": "carol@example.com",
            "status": "closed",
            "first_name": "Carol", "last_name": "Lewis",
        }),
    );
    let t = Test::new().env("AP_TOKEN", &token);
    t.write(
        "roster.yaml",
        &format!("{}users: []\n", ap_head(&server.url)),
    );
    let dump = t.run(&["dump", "--vendor", "ap"]);
    dump.code(0);
    assert!(
        !dump.stdout.contains('\u{2028}') && dump.stdout.contains("\\L"),
        "U+2028 is written escaped:\n{}",
        dump.stdout
    );

    // The team starts from today's reality: the dump becomes roster.yaml.
    t.write(
        "roster.yaml",
        &format!("{}{}", ap_head(&server.url), dump.stdout),
    );
    let plan = t.run(&["plan", "--refresh", "--format", "json"]);
    plan.code(0);
    assert!(!plan.stdout.contains("mallory"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("admin"), "{}", plan.stdout);
    let summary = &plan.json()["summary"];
    assert_eq!(summary["create"], 0, "{}", plan.stdout);
    // Alice is there as the vendor has her, down to the smuggled text; she
    // alone is a user.
    let users: serde_json::Value = serde_yaml::from_str(&dump.stdout).expect("dump is YAML");
    let users = users["users"].as_array().expect("users");
    assert_eq!(users.len(), 1, "{}", dump.stdout);
    assert_eq!(users[0]["first_name"], format!("Alice{SMUGGLED}"));
    assert_eq!(
        users[0]["accounts"]["ap"]["custom_attributes"][format!("team{SMUGGLED}")],
        format!("red{SMUGGLED}")
    );
    assert!(users[0].get("roles").is_none(), "{}", dump.stdout);
    // Nothing was sent but reads.
    assert!(server
        .mock
        .requests("/activeplatform")
        .iter()
        .all(|r| r.method == "GET"));
}

/// What a hostile vendor answers: `refusal` (HTTP 400, as JSON) to every
/// creation, an empty list to every read.
fn refusing_scim(refusal: serde_json::Value) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new().fallback(move |method: axum::http::Method| {
                let refusal = refusal.clone();
                async move {
                    use axum::response::IntoResponse;
                    if method == axum::http::Method::POST {
                        (axum::http::StatusCode::BAD_REQUEST, axum::Json(refusal)).into_response()
                    } else {
                        axum::Json(json!({
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                            "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": [],
                        }))
                        .into_response()
                    }
                }
            });
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    url
}

/// A terminal acts on ESC (every CSI and OSC sequence), CR, BEL, backspace,
/// C1 controls and the bidi overrides; none of them may come from a vendor.
fn acted_on(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[test]
fn a_vendors_refusal_reaches_no_terminal_and_no_file_with_a_control_in_it() {
    let fake = "\u{1b}[2J\r Apply: 5 created, 0 failed\u{1b}]0;pwned\u{7}\u{1b}]8;;https://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\\u{8}\u{9b}31m\u{202e}";
    let url = refusing_scim(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400", "scimType": "invalidValue", "detail": fake,
    }));
    let t = Test::new().env("SCIM_TOKEN", "scim-token-0123456789");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\nusers:\n  - {{ email: a@example.com, first_name: A, last_name: B, accounts: {{ scim: {{}} }} }}\n"
        ),
    );
    let mut runs = Vec::new();
    for format in ["text", "json"] {
        let apply = t.run(&["apply", "--yes", "--log-format", format]);
        assert_ne!(apply.code, 0, "the creation was refused: {}", apply.stdout);
        runs.push(apply);
    }
    runs.push(t.run(&["state", "list"]));
    runs.push(t.run(&["history"]));
    for run in &runs {
        for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(!text.chars().any(acted_on), "{what}: {text:?}");
        }
    }
    // The vendor's words are still shown, escaped.
    assert!(
        runs[0].stdout.contains("\\u{1b}[2J\\u{d} Apply: 5 created"),
        "{}",
        runs[0].stdout
    );
    // The state keeps them escaped too: a later `cat` of it or of the journal
    // does the terminal no harm.
    let state = t.state();
    let error = state["vendors"]["scim"]["a@example.com"]["error"]
        .as_str()
        .expect("an error recorded");
    assert!(!error.chars().any(acted_on), "{error:?}");
}
