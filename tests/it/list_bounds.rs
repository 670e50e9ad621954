//! What one listed account may hold is bounded, field by field: an account
//! past a bound stops the listing with an error naming the page and the
//! field, and the value is never cut short (a shortened id is another
//! account's id), so nothing is concluded from that vendor's list.

use crate::support::{Config, Server, Test};
use serde_json::json;

#[test]
fn an_account_past_a_bound_stops_the_refresh_naming_the_page_and_the_field() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = Test::new().env("SCIM_TOKEN", &c.scim_token);
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\nusers:\n  - {{ email: u0@example.com, first_name: U, last_name: N, accounts: {{ scim: {{}} }} }}\n",
            server.url
        ),
    );
    t.run(&["apply", "--yes"]).code(0);
    t.backdate(3600);
    let before = t.state();
    // Another account, whose id is 300 bytes long.
    let id = format!("big-{}", "7".repeat(296));
    server.mock.seed(
        "scim",
        "big@example.com",
        json!({"id": id, "userName": "big@example.com", "active": true}),
    );
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains(
            "not read    scim: listing failed, nothing concluded: the vendor lists at page 1 (the first) an account (\"big@example.com\") whose id is 300 bytes long, more than roster keeps (256); stopped paging (a value is never cut short"
        ),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(&id) && !run.stderr.contains(&id),
        "the id is not printed"
    );
    assert_eq!(t.state(), before, "nothing concluded, nothing written");

    // At its bound (256 bytes), the id is kept whole.
    let id = format!("big-{}", "7".repeat(252));
    server.mock.seed(
        "scim",
        "big@example.com",
        json!({"id": id, "userName": "big@example.com", "active": true}),
    );
    let run = t.run(&["refresh"]);
    run.code(0);
    assert!(!run.stdout.contains("not read"), "{}", run.stdout);
}
