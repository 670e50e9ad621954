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
    t.write("roster.yaml", &format!("{}users: []\n", ap_head(&server.url)));
    let dump = t.run(&["dump", "--vendor", "ap"]);
    dump.code(0);
    assert!(
        !dump.stdout.contains('\u{2028}') && dump.stdout.contains("\\L"),
        "U+2028 is written escaped:\n{}",
        dump.stdout
    );

    // The team starts from today's reality: the dump becomes roster.yaml.
    t.write("roster.yaml", &format!("{}{}", ap_head(&server.url), dump.stdout));
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
    assert!(server.mock.requests("/activeplatform").iter().all(|r| r.method == "GET"));
}
