//! The second branch of each defence, pinned at the binary (issue 16): the
//! cases the main-path tests leave open, each of which an injected bug survived.

use crate::support::mock::Fault;
use crate::support::{Config, Server, Test};

/// One SCIM vendor (creations verified by lookup) and one user.
fn scim_yaml(url: &str) -> String {
    format!(
        "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\n    timeout: 2s\n    verify_grace: 1s\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: N\n    accounts:\n      app: {{}}\n"
    )
}

/// A pending pair whose lookup fails is kept pending with the reason: the
/// creation is never sent again on a failed lookup (it may have taken effect;
/// a second POST would be a duplicate account).
#[test]
fn a_failed_lookup_of_a_pending_pair_keeps_it_pending_and_sends_nothing() {
    let server = Server::start(Config::default());
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    t.write("roster.yaml", &scim_yaml(&server.url));
    // The creation takes effect, its answer is lost: pending.
    server.mock.data().faults.push_back(Fault::CommitThenDrop);
    t.run(&["apply", "--yes"]).code(3);
    let posts = |s: &Server| {
        s.mock
            .requests("/scim/v2/Users")
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    assert_eq!(posts(&server), 1);
    assert_eq!(
        t.state()["vendors"]["app"]["a@example.com"]["status"],
        "pending"
    );

    // The list endpoint is down while apply verifies.
    server.mock.data().failing_lists = true;
    let reads_before = server.mock.reads("/scim/v2/Users");
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    assert!(
        server.mock.reads("/scim/v2/Users") > reads_before,
        "a lookup was sent"
    );
    assert_eq!(
        posts(&server),
        1,
        "the creation was sent again: {}",
        run.stdout
    );
    let r = t.state()["vendors"]["app"]["a@example.com"].clone();
    assert_eq!(r["status"], "pending", "{r}");
    assert!(
        r.to_string().contains("lookup failed"),
        "the reason is recorded: {r}"
    );

    // Once the list is back, the pair is adopted with the vendor's id; the
    // vendor holds the account once.
    server.mock.data().failing_lists = false;
    t.run(&["apply", "--yes"]).code(0);
    assert_eq!(posts(&server), 1);
    let r = t.state()["vendors"]["app"]["a@example.com"].clone();
    assert!(r["remote_id"].is_string(), "{r}");
    let creations = server.mock.data().creations.clone();
    assert!(creations.values().all(|n| *n == 1), "{creations:?}");
}
