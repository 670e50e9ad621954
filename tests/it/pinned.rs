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

/// A pending pair past its grace period that the vendor does not hold is looked
/// up once, then created: no second round of lookups (a round is a listing of
/// the vendor's accounts; waiting for one is only for pairs within their grace).
#[test]
fn a_pending_pair_past_its_grace_and_not_held_is_looked_up_once_then_created() {
    let server = Server::start(Config::default());
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    t.write("roster.yaml", &scim_yaml(&server.url));
    server.mock.data().faults.push_back(Fault::CommitThenDrop);
    t.run(&["apply", "--yes"]).code(3);
    // The creation turns out never to have taken: the vendor holds nothing.
    server.mock.delete("scim", "a@example.com");
    t.backdate(3600);
    let reads = server.mock.reads("/scim/v2/Users");
    let posts = server.mock.requests("/scim/v2/Users").len() - reads;
    t.run(&["apply", "--yes"]).code(0);
    assert_eq!(server.mock.reads("/scim/v2/Users") - reads, 1, "one lookup");
    let now_posts =
        server.mock.requests("/scim/v2/Users").len() - server.mock.reads("/scim/v2/Users");
    assert_eq!(now_posts - posts, 1, "created once");
    assert_eq!(
        t.state()["vendors"]["app"]["a@example.com"]["status"],
        "created"
    );
}

/// A refusal that names something the vendor does not have ("... does not
/// exist") is classified as a refusal by each driver whose "exists" words are
/// only a hint: the pair fails with the vendor's words, and no lookup is sent
/// (a lookup is what an "already exists" answer would send).
#[test]
fn a_does_not_exist_refusal_sends_no_lookup_at_activeplatform_or_forms_on_fire() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    // (vendor settings, a block naming what the vendor lacks, its list path)
    let drivers = [
        (
            format!(
                "activeplatform\n    base_url: {}/activeplatform\n    api_token: ${{SECRET}}",
                server.url
            ),
            c.activeplatform_token.clone(),
            "{ custom_attributes: { missing-0000: x } }",
            "/activeplatform/api/vendor/v1/users.json",
        ),
        (
            format!(
                "formsonfire\n    base_url: {}/formsonfire/api/v2\n    company_id: {}\n    integration_key: ${{SECRET}}",
                server.url, c.formsonfire_company
            ),
            c.formsonfire_key.clone(),
            "{ time_zone: missing-0000 }",
            "/formsonfire/api/v2/user/search",
        ),
    ];
    for (settings, secret, block, list) in drivers {
        let t = Test::new().env("SECRET", &secret);
        t.write(
            "roster.yaml",
            &format!(
                "version: 1\nvendors:\n  v:\n    kind: {settings}\n    rate_limit: 1000/s\nusers:\n  - email: m@example.com\n    first_name: M\n    last_name: N\n    password: generate\n    accounts:\n      v: {block}\n"
            ),
        );
        let run = t.run(&["apply", "--yes"]);
        run.code(3);
        let r = t.state()["vendors"]["v"]["m@example.com"].clone();
        assert_eq!(r["status"], "failed", "{settings}: {r}");
        assert!(
            r["error"]
                .as_str()
                .unwrap_or_default()
                .contains("missing-0000 does not exist"),
            "{settings}: the vendor's words: {r}"
        );
        assert_eq!(server.mock.reads(list), 0, "{settings}: a lookup was sent");
    }
}
