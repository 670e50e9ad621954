//! Truth from the vendors: what each vendor holds, read by listing, against what
//! the state records. Accounts deleted at the vendor are created again, accounts
//! found there are adopted with the vendor's own id, closed and inactive ones are
//! recorded as such, "exists" is believed only when the vendor confirms it, and
//! every list is read page by page to its end, never one lookup per user.

use crate::support::mock::Fault;
use crate::support::{Config, Server, Test};
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime};

/// One vendor kind on the mock: how to configure it, its credential, a valid
/// account block, a block naming something the vendor does not have, the path
/// of its list, and an account as the vendor holds it.
struct Kind {
    name: &'static str,
    settings: fn(&Config, &str) -> String,
    secret: fn(&Config) -> String,
    block: &'static str,
    /// The mock answers a creation with this block "... does not exist".
    missing: &'static str,
    /// The path its list is read from (GET).
    list: &'static str,
    /// The field of the vendor's record that holds its id.
    id_field: &'static str,
    /// The account `n` as the vendor holds it (live or closed), and its id.
    seed: fn(&str, usize, bool) -> (Value, String),
}

const ACTON: Kind = Kind {
    name: "acton",
    settings: |_, url| format!("base_url: {url}/acton\n    token: ${{SECRET}}"),
    secret: |c| c.acton_token.clone(),
    block: "{ user_type: Marketing }",
    missing: "{ user_type: Marketing }",
    list: "",
    id_field: "",
    seed: |e, _, _| (json!({ "email": e }), e.to_string()),
};

const AP: Kind = Kind {
    name: "activeplatform",
    settings: |_, url| format!("base_url: {url}/activeplatform\n    api_token: ${{SECRET}}"),
    secret: |c| c.activeplatform_token.clone(),
    block: "{ custom_attributes: { team: blue } }",
    missing: "{ custom_attributes: { missing-0000: x } }",
    list: "/activeplatform/api/vendor/v1/users.json",
    id_field: "id",
    seed: |e, n, live| {
        let id = 900_000 + n as u64;
        let user = json!({
            "id": id, "email": e, "first_name": "Seed", "last_name": format!("N{n}"),
            "status": if live { "active" } else { "inactive" },
            "custom_attributes": [{"name": "team", "value": "blue"}],
        });
        (user, id.to_string())
    },
};

const DS: Kind = Kind {
    name: "docusign",
    settings: |c, url| {
        format!(
            "base_url: {url}/docusign/restapi\n    account_id: {}\n    token: ${{SECRET}}",
            c.docusign_account
        )
    },
    secret: |c| c.docusign_token.clone(),
    block: "{ company: Example }",
    missing: "{ group_ids: [missing-0000] }",
    list: "/docusign/restapi/v2.1/accounts/mock-account/users",
    id_field: "userId",
    seed: |e, n, live| {
        let id = format!("ds-{n}");
        let user = json!({
            "userId": id, "email": e, "firstName": "Seed", "lastName": format!("N{n}"),
            "userName": format!("Seed N{n}"), "company": "Example",
            "userStatus": if live { "Active" } else { "closed" },
        });
        (user, id)
    },
};

const FOF: Kind = Kind {
    name: "formsonfire",
    settings: |c, url| {
        format!(
            "base_url: {url}/formsonfire/api/v2\n    company_id: {}\n    integration_key: ${{SECRET}}",
            c.formsonfire_company
        )
    },
    secret: |c| c.formsonfire_key.clone(),
    block: "{ website_role: User }",
    missing: "{ time_zone: missing-0000 }",
    list: "/formsonfire/api/v2/user/search",
    id_field: "Id",
    seed: |e, n, live| {
        let id = format!("fof-{n}");
        let user = json!({
            "Id": id, "Email": e, "FirstName": "Seed", "LastName": format!("N{n}"),
            "WebsiteRole": "User", "Status": if live { "Active" } else { "Disabled" },
        });
        (user, id)
    },
};

const SCIM: Kind = Kind {
    name: "scim",
    settings: |_, url| format!("base_url: {url}/scim/v2\n    token: ${{SECRET}}"),
    secret: |c| c.scim_token.clone(),
    block: "{ active: true }",
    missing: "{ external_id: missing-0000 }",
    list: "/scim/v2/Users",
    id_field: "id",
    seed: |e, n, live| {
        let id = format!("scim-{n}");
        let user = json!({
            "id": id, "userName": e, "active": live,
            "emails": [{"value": e, "primary": true, "type": "work"}],
            "name": {"givenName": "Seed", "familyName": format!("N{n}")},
        });
        (user, id)
    },
};

/// The kinds whose vendor can list its users.
const LISTING: [&Kind; 4] = [&AP, &DS, &FOF, &SCIM];

/// The environment variable holding `kind`'s credential.
fn var(kind: &Kind) -> String {
    format!("SECRET_{}", kind.name.to_uppercase())
}

/// A roster.yaml with one vendor per kind, named after its kind, each with
/// `extra` settings, and `users` (YAML list items). The vendors' own rate limits
/// are not under test here (DocuSign's 3,000 calls an hour would pace each page
/// to over a second), so they are lifted.
fn roster(kinds: &[&Kind], c: &Config, url: &str, extra: &str, users: &str) -> String {
    let mut y = String::from("version: 1\nvendors:\n");
    for k in kinds {
        let settings = (k.settings)(c, url).replace("${SECRET}", &format!("${{{}}}", var(k)));
        y.push_str(&format!(
            "  {}:\n    kind: {}\n    {settings}\n    rate_limit: 1000/s\n",
            k.name, k.name
        ));
        if !extra.is_empty() {
            y.push_str(&format!("    {extra}\n"));
        }
    }
    y.push_str("users:\n");
    y.push_str(users);
    y
}

/// A YAML list item: one user with an account at each `(vendor, block)`.
fn user(email: &str, accounts: &[(&str, &str)]) -> String {
    let mut y = format!(
        "  - email: {email}\n    first_name: Claire\n    last_name: Horace\n    password: generate\n    accounts:\n"
    );
    for (vendor, block) in accounts {
        y.push_str(&format!("      {vendor}: {block}\n"));
    }
    y
}

/// The user on every kind of `kinds`, with its usual block.
fn user_on(email: &str, kinds: &[&Kind]) -> String {
    let accounts: Vec<(&str, &str)> = kinds.iter().map(|k| (k.name, k.block)).collect();
    user(email, &accounts)
}

/// A temp dir with each kind's credential in the environment.
fn test(kinds: &[&Kind], c: &Config) -> Test {
    kinds
        .iter()
        .fold(Test::new(), |t, k| t.env(&var(k), &(k.secret)(c)))
}

/// An id as text, whether the vendor sends a string or a number.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The id the mock holds for `key` at `kind`.
fn held_id(server: &Server, kind: &Kind, key: &str) -> String {
    let users = server.mock.users(kind.name);
    let user = users
        .get(key)
        .unwrap_or_else(|| panic!("{}: the vendor holds no {key}: {users:?}", kind.name));
    text(&user[kind.id_field])
}

/// The recorded state of one pair.
fn record(t: &Test, vendor: &str, email: &str) -> Value {
    t.state()["vendors"][vendor][email].clone()
}

/// Requests to `kind` that are not reads.
fn writes(server: &Server, kind: &Kind) -> Vec<String> {
    server
        .mock
        .requests(&format!("/{}/", kind.name))
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The plan's change for one pair, if it is not unchanged.
fn change<'a>(plan: &'a Value, vendor: &str, email: &str) -> Option<&'a Value> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["vendor"] == vendor && c["email"] == email)
}

#[test]
fn an_account_deleted_at_the_vendor_is_planned_and_created_again() {
    for kind in LISTING {
        let server = Server::start(Config::default());
        let c = server.mock.config.clone();
        let t = test(&[kind], &c);
        let users = user_on("a@example.com", &[kind]) + &user_on("b@example.com", &[kind]);
        t.write("roster.yaml", &roster(&[kind], &c, &server.url, "", &users));
        t.run(&["apply", "--yes"]).code(0);
        let old = held_id(&server, kind, "a@example.com");
        assert_eq!(record(&t, kind.name, "a@example.com")["remote_id"], old);
        server.mock.delete(kind.name, "a@example.com");

        // Within its grace period a new account is not taken for deleted: the
        // vendor may simply not list it yet.
        let young = t
            .run(&["plan", "--refresh", "--format", "json"])
            .code(0)
            .json();
        assert_eq!(young["summary"]["create"], 0, "{}: {young}", kind.name);

        t.backdate(3600);
        let serial = t.state()["serial"].clone();
        let plain = t.run(&["plan", "--format", "json"]).code(0).json();
        assert_eq!(plain["summary"]["unchanged"], 2, "{}: {plain}", kind.name);
        assert_eq!(plain["summary"]["create"], 0, "{}: {plain}", kind.name);

        let run = t.run(&["plan", "--refresh", "--format", "json"]);
        let plan = run.code(0).json();
        assert_eq!(plan["summary"]["create"], 1, "{}: {plan}", kind.name);
        assert_eq!(plan["summary"]["unchanged"], 1, "{}: {plan}", kind.name);
        let a = change(&plan, kind.name, "a@example.com").expect("a@ is in the plan");
        assert_eq!(a["action"], "create", "{}: {a}", kind.name);
        let reason = a["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("gone at the vendor") && reason.contains(&old),
            "{}: {reason}",
            kind.name
        );
        assert!(run.stderr.contains("gone"), "{}: {}", kind.name, run.stderr);
        assert_eq!(
            t.state()["serial"],
            serial,
            "{}: plan writes no state",
            kind.name
        );
        assert_eq!(
            record(&t, kind.name, "a@example.com")["status"],
            "created",
            "{}: plan --refresh changed the state file",
            kind.name
        );

        t.run(&["apply", "--refresh", "--yes"]).code(0);
        let new = held_id(&server, kind, "a@example.com");
        assert_ne!(new, old, "{}", kind.name);
        let a = record(&t, kind.name, "a@example.com");
        assert_eq!(a["status"], "created", "{}: {a}", kind.name);
        assert_eq!(a["remote_id"], new, "{}: {a}", kind.name);
        assert_eq!(
            server.mock.data().creations[&(kind.name, "b@example.com".to_string())],
            1,
            "{}: b@ was not touched",
            kind.name
        );
        t.run(&["plan", "--refresh", "--detailed-exitcode"]).code(0);
    }
}

#[test]
fn refresh_adopts_what_the_vendor_holds_with_its_id_and_sends_nothing() {
    for kind in LISTING {
        let server = Server::start(Config::default());
        let c = server.mock.config.clone();
        let (seed, id) = (kind.seed)("b@example.com", 1, true);
        server.mock.seed(kind.name, "b@example.com", seed);
        let t = test(&[kind], &c);
        let users = user_on("b@example.com", &[kind]) + &user_on("c@example.com", &[kind]);
        t.write("roster.yaml", &roster(&[kind], &c, &server.url, "", &users));

        let run = t.run(&["refresh"]);
        run.code(0);
        let b = record(&t, kind.name, "b@example.com");
        assert_eq!(b["status"], "adopted", "{}: {b}", kind.name);
        assert_eq!(b["remote_id"], id, "{}: the vendor's id: {b}", kind.name);
        assert!(b["vendor_status"].is_string(), "{}: {b}", kind.name);
        assert!(
            record(&t, kind.name, "c@example.com").is_null(),
            "{}: c@ is not at the vendor and was never sent",
            kind.name
        );
        assert!(
            run.stdout.contains("b@example.com")
                && run.stdout.contains("adopted")
                && run.stdout.contains(&id),
            "{}: {}",
            kind.name,
            run.stdout
        );
        assert!(
            run.stdout.contains("1 adopted") && run.stdout.contains("serial 1"),
            "{}: {}",
            kind.name,
            run.stdout
        );
        assert_eq!(writes(&server, kind), Vec::<String>::new(), "{}", kind.name);
        assert!(server.mock.data().creations.is_empty(), "{}", kind.name);

        let before = t.read("state/roster.state.json");
        let again = t.run(&["refresh"]);
        again.code(0);
        assert!(
            again.stdout.contains("nothing written"),
            "{}: {}",
            kind.name,
            again.stdout
        );
        assert_eq!(
            t.read("state/roster.state.json"),
            before,
            "{}: a refresh that learns nothing rewrites nothing",
            kind.name
        );
        assert_eq!(writes(&server, kind), Vec::<String>::new(), "{}", kind.name);

        let plan = t.run(&["plan", "--format", "json"]).code(0).json();
        assert_eq!(plan["summary"]["unchanged"], 1, "{}: {plan}", kind.name);
        assert_eq!(plan["summary"]["create"], 1, "{}: {plan}", kind.name);
    }
}

#[test]
fn a_does_not_exist_answer_fails_with_the_vendors_words() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let kinds: Vec<&Kind> = std::iter::once(&ACTON).chain(LISTING).collect();
    let t = test(&kinds, &c);
    let good = user_on("a@example.com", &kinds);
    let missing: Vec<(&str, &str)> = kinds.iter().map(|k| (k.name, k.missing)).collect();
    // Act-On's "does not exist" is for the title (its sales team).
    let bad = user("m@example.com", &missing).replace(
        "    password: generate\n",
        "    password: generate\n    title: missing-0000\n",
    );
    t.write(
        "roster.yaml",
        &roster(&kinds, &c, &server.url, "", &(good + &bad)),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout.contains("5 created, 0 adopted, 5 failed"),
        "{}",
        run.stdout
    );
    for kind in &kinds {
        let m = record(&t, kind.name, "m@example.com");
        assert_eq!(m["status"], "failed", "{}: {m}", kind.name);
        let error = m["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("missing-0000 does not exist"),
            "{}: the vendor's words: {m}",
            kind.name
        );
        assert!(m["remote_id"].is_null(), "{}: {m}", kind.name);
        assert_eq!(
            record(&t, kind.name, "a@example.com")["status"],
            "created",
            "{}",
            kind.name
        );
        assert!(
            !server.mock.users(kind.name).contains_key("m@example.com"),
            "{}",
            kind.name
        );
    }
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 5, "{plan}");
}

#[test]
fn an_exists_answer_the_vendor_cannot_confirm_is_failed_not_adopted() {
    let server = Server::start(Config {
        search_lag: Duration::from_secs(60),
        ..Config::default()
    });
    let c = server.mock.config.clone();
    for kind in LISTING {
        let (mut seed, _) = (kind.seed)("b@example.com", 1, true);
        if kind.name == "docusign" {
            // DocuSign's "exists" answer carries the account's id, which is a
            // confirmation; this one has none to give.
            seed.as_object_mut().expect("object").remove("userId");
        }
        server.mock.seed(kind.name, "b@example.com", seed);
        server
            .mock
            .data()
            .created_at
            .insert((kind.name, "b@example.com".into()), Instant::now());
    }
    let t = test(&LISTING, &c);
    t.write(
        "roster.yaml",
        &roster(
            &LISTING,
            &c,
            &server.url,
            "",
            &user_on("b@example.com", &LISTING),
        ),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout.contains("0 created, 0 adopted, 4 failed"),
        "{}",
        run.stdout
    );
    for kind in LISTING {
        let b = record(&t, kind.name, "b@example.com");
        assert_eq!(b["status"], "failed", "{}: {b}", kind.name);
        assert!(
            b["remote_id"].is_null(),
            "{}: no made-up id: {b}",
            kind.name
        );
        let error = b["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("lists no account for this user"),
            "{}: {b}",
            kind.name
        );
        assert_eq!(server.mock.users(kind.name).len(), 1, "{}", kind.name);
        assert!(server.mock.data().creations.is_empty(), "{}", kind.name);
    }
}

/// `n` users seeded at every listing kind, and a roster.yaml desiring them all.
fn seeded(server: &Server, n: usize) -> (String, Vec<String>) {
    let emails: Vec<String> = (0..n).map(|i| format!("u{i:04}@example.com")).collect();
    let mut users = String::new();
    for (i, e) in emails.iter().enumerate() {
        for kind in LISTING {
            server.mock.seed(kind.name, e, (kind.seed)(e, i, true).0);
        }
        users.push_str(&user_on(e, &LISTING));
    }
    let c = server.mock.config.clone();
    (roster(&LISTING, &c, &server.url, "", &users), emails)
}

/// Every email is adopted at every listing kind, with the seeded id.
fn assert_all_adopted(t: &Test, emails: &[String], kinds: &[&Kind], what: &str) {
    let state = t.state();
    for kind in kinds {
        for (i, e) in emails.iter().enumerate() {
            let r = &state["vendors"][kind.name][e];
            assert_eq!(r["status"], "adopted", "{what} {}: {e} {r}", kind.name);
            assert_eq!(
                r["remote_id"],
                (kind.seed)(e, i, true).1,
                "{what} {}: {e}",
                kind.name
            );
        }
    }
}

#[test]
fn import_and_refresh_of_a_thousand_users_read_pages_not_users() {
    let n = 1000;
    let server = Server::start(Config {
        page_cap: 100,
        ..Config::default()
    });
    let c = server.mock.config.clone();
    let (yaml, emails) = seeded(&server, n);
    let most = n.div_ceil(100) + 3;

    let t = test(&LISTING, &c);
    t.write("roster.yaml", &yaml);
    for kind in LISTING {
        let before: Vec<usize> = LISTING
            .iter()
            .map(|k| server.mock.reads(&format!("/{}/", k.name)))
            .collect();
        let run = t.run(&["import", "--vendor", kind.name]);
        run.code(0);
        assert!(
            run.stdout
                .contains(&format!("Import: {n} adopted, 0 not at the vendor")),
            "{}: {}",
            kind.name,
            run.stdout
        );
        for (k, was) in LISTING.iter().zip(before) {
            let reads = server.mock.reads(&format!("/{}/", k.name)) - was;
            if k.name == kind.name {
                assert!(
                    (n / 100..=most).contains(&reads),
                    "import --vendor {}: {reads} reads for {n} users",
                    kind.name
                );
            } else {
                assert_eq!(reads, 0, "import --vendor {} read {}", kind.name, k.name);
            }
        }
        assert_all_adopted(&t, &emails, &[kind], "import");
    }
    for kind in LISTING {
        assert_eq!(writes(&server, kind), Vec::<String>::new());
    }

    // A refresh from an empty state: every vendor at once, each read by pages.
    let fresh = test(&LISTING, &c);
    fresh.write("roster.yaml", &yaml);
    let before: Vec<usize> = LISTING
        .iter()
        .map(|k| server.mock.reads(&format!("/{}/", k.name)))
        .collect();
    let run = fresh.run(&["refresh"]);
    run.code(0);
    assert!(
        run.stdout.contains(&format!("Refresh: {} adopted", 4 * n)),
        "{}",
        run.stdout.lines().last().unwrap_or_default()
    );
    for (k, was) in LISTING.iter().zip(before) {
        let reads = server.mock.reads(&format!("/{}/", k.name)) - was;
        assert!(
            (n / 100..=most).contains(&reads),
            "refresh: {reads} reads of {} for {n} users",
            k.name
        );
    }
    assert_all_adopted(&fresh, &emails, &LISTING, "refresh");
    assert!(server.mock.data().creations.is_empty());
}

#[test]
fn a_scim_server_that_cannot_filter_is_listed_for_lookups_and_refresh() {
    let server = Server::start(Config {
        scim_filter: false,
        ..Config::default()
    });
    let c = server.mock.config.clone();
    let (seed, seeded_id) = (SCIM.seed)("b@example.com", 1, true);
    server.mock.seed("scim", "b@example.com", seed);
    // The first creation (a@, in order: one at a time) takes effect, its answer
    // is lost: verified by a lookup on the next run. b@ is answered "exists":
    // confirmed by a lookup.
    server.mock.data().faults.push_back(Fault::CommitThenDrop);
    let t = test(&[&SCIM], &c);
    let users = ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .map(|e| user_on(e, &[&SCIM]))
        .collect::<String>();
    t.write(
        "roster.yaml",
        &roster(&[&SCIM], &c, &server.url, "concurrency: 1", &users),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    assert_eq!(server.mock.data().faulted.len(), 1);
    assert_eq!(record(&t, "scim", "a@example.com")["status"], "pending");
    let b = record(&t, "scim", "b@example.com");
    assert_eq!(b["status"], "adopted", "{b}");
    assert_eq!(b["remote_id"], seeded_id, "{b}");

    t.run(&["apply", "--yes"]).code(0);
    for e in ["a@example.com", "c@example.com"] {
        let r = record(&t, "scim", e);
        assert!(
            matches!(r["status"].as_str(), Some("adopted" | "created")),
            "{r}"
        );
        assert_eq!(r["remote_id"], held_id(&server, &SCIM, e), "{e}");
    }
    t.backdate(3600);
    // The first refresh records the vendor's status word of what apply created;
    // the second finds nothing new.
    t.run(&["refresh"]).code(0);
    let run = t.run(&["refresh"]);
    run.code(0);
    assert!(run.stdout.contains("nothing written"), "{}", run.stdout);
    t.backdate(3600);
    server.mock.delete("scim", "c@example.com");
    let plan = t
        .run(&["plan", "--refresh", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(plan["summary"]["create"], 1, "{plan}");

    let lists = server.mock.requests("/scim/v2/Users");
    let reads: Vec<_> = lists.iter().filter(|r| r.method == "GET").collect();
    assert!(
        reads.len() >= 4,
        "lookups and refreshes were sent: {reads:?}"
    );
    for r in &reads {
        assert!(
            !r.query.contains("filter"),
            "a filter was sent to a server that cannot filter: {}",
            r.query
        );
    }
    assert!(server.mock.reads("/scim/v2/ServiceProviderConfig") >= 1);
    let creations = server.mock.data().creations.clone();
    assert!(creations.values().all(|n| *n == 1), "{creations:?}");
}

#[test]
fn closed_and_inactive_accounts_are_recorded_not_counted_and_never_created() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let m = &server.mock;
    // One email, two memberships: the closed one listed first, the live one after.
    m.seed(
        "docusign",
        "both@example.com",
        (DS.seed)("both@example.com", 1, false).0,
    );
    m.seed_extra("docusign", (DS.seed)("both@example.com", 2, true).0);
    m.seed(
        "docusign",
        "closed@example.com",
        (DS.seed)("closed@example.com", 3, false).0,
    );
    m.seed(
        "docusign",
        "l1@example.com",
        (DS.seed)("l1@example.com", 4, true).0,
    );
    m.seed(
        "docusign",
        "l2@example.com",
        (DS.seed)("l2@example.com", 5, true).0,
    );
    m.seed(
        "scim",
        "off@example.com",
        (SCIM.seed)("off@example.com", 6, false).0,
    );

    let t = test(&[&DS, &SCIM], &c);
    let users: String = [
        "both@example.com",
        "closed@example.com",
        "l1@example.com",
        "l2@example.com",
        "n1@example.com",
        "n2@example.com",
    ]
    .iter()
    .map(|e| user_on(e, &[&DS]))
    .chain(std::iter::once(user_on("off@example.com", &[&SCIM])))
    .collect();
    let yaml = roster(&[&DS, &SCIM], &c, &server.url, "", &users).replace(
        "users:\n",
        "safety:\n  min_existing: 1\n  max_create_percent: 50\nusers:\n",
    );
    t.write("roster.yaml", &yaml);

    let run = t.run(&["refresh"]);
    run.code(0);
    assert!(run.stdout.contains("found inactive"), "{}", run.stdout);
    let both = record(&t, "docusign", "both@example.com");
    assert_eq!(both["status"], "adopted", "{both}");
    assert_eq!(both["remote_id"], "ds-2", "the live membership: {both}");
    assert!(both["inactive"].is_null(), "{both}");
    let closed = record(&t, "docusign", "closed@example.com");
    assert_eq!(closed["remote_id"], "ds-3", "{closed}");
    assert_eq!(closed["inactive"], true, "{closed}");
    assert_eq!(closed["vendor_status"], "closed", "{closed}");
    let off = record(&t, "scim", "off@example.com");
    assert_eq!(off["remote_id"], "scim-6", "{off}");
    assert_eq!(off["inactive"], true, "{off}");
    assert_eq!(off["vendor_status"], "inactive", "{off}");

    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 2, "{plan}");
    assert_eq!(plan["summary"]["drift"], 2, "{plan}");
    for (vendor, email) in [
        ("docusign", "closed@example.com"),
        ("scim", "off@example.com"),
    ] {
        let ch = change(&plan, vendor, email).expect("in the plan");
        assert_eq!(ch["action"], "drift", "{ch}");
        assert!(
            ch["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("inactive at the vendor"),
            "{ch}"
        );
    }

    // 3 live accounts: 2 creations are 67%, over 50%. Counting the 2 inactive
    // ones as live would make it 40% and let it through.
    let run = t.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr.contains("refusing to apply")
            && run.stderr.contains("of the 3 accounts recorded"),
        "{}",
        run.stderr
    );
    assert!(writes(&server, &DS).is_empty() && writes(&server, &SCIM).is_empty());

    t.run(&["apply", "--yes", "--force"]).code(0);
    let posts: Vec<_> = server
        .mock
        .data()
        .requests
        .iter()
        .filter(|r| r.method == "POST")
        .cloned()
        .collect();
    assert!(!posts.is_empty());
    for p in &posts {
        for e in ["both@", "closed@", "off@", "l1@", "l2@"] {
            assert!(!p.body.contains(e), "{e} was sent: {}", p.body);
        }
    }
    let creations = server.mock.data().creations.clone();
    let created: Vec<&str> = creations.keys().map(|(_, e)| e.as_str()).collect();
    assert_eq!(created, ["n1@example.com", "n2@example.com"]);
    let closed_after = record(&t, "docusign", "closed@example.com");
    assert_eq!(closed_after["inactive"], true, "{closed_after}");
}

#[test]
fn dump_prints_every_account_as_users_and_round_trips_through_import() {
    for kind in LISTING {
        let server = Server::start(Config::default());
        let c = server.mock.config.clone();
        let live = ["ann@example.com", "bob@example.com", "cy@example.com"];
        for (i, e) in live.iter().enumerate() {
            server.mock.seed(kind.name, e, (kind.seed)(e, i, true).0);
        }
        let (closed, closed_id) = (kind.seed)("old@example.com", 9, false);
        server.mock.seed(kind.name, "old@example.com", closed);
        let secret = (kind.secret)(&c);
        let t = test(&[kind], &c).env("RUST_LOG", "trace");
        let full = roster(&[kind], &c, &server.url, "", "");
        let vendors = full.trim_end_matches("users:\n");
        t.write("roster.yaml", &full);

        let run = t.run(&["-vv", "dump", "--vendor", kind.name]);
        run.code(0);
        for (what, out) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !out.contains(&secret),
                "{}: the credential is in {what}:\n{out}",
                kind.name
            );
        }
        let dumped: Value = serde_yaml::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{}: not YAML ({e}):\n{}", kind.name, run.stdout));
        let emails: Vec<&str> = dumped["users"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no users list:\n{}", kind.name, run.stdout))
            .iter()
            .map(|u| u["email"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(emails, live, "{}:\n{}", kind.name, run.stdout);
        let old: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.contains("old@example.com") || l.contains(&closed_id))
            .collect();
        assert!(
            !old.is_empty(),
            "{}: the closed account is shown:\n{}",
            kind.name,
            run.stdout
        );
        assert!(
            old.iter().all(|l| l.trim_start().starts_with('#')),
            "{}: the closed account is commented out:\n{}",
            kind.name,
            run.stdout
        );

        t.write("roster.yaml", &format!("{vendors}{}", run.stdout));
        let v = t.run(&["validate"]);
        v.code(0);
        t.run(&["import", "--vendor", kind.name]).code(0);
        for (i, e) in live.iter().enumerate() {
            let r = record(&t, kind.name, e);
            assert_eq!(r["status"], "adopted", "{}: {r}", kind.name);
            assert_eq!(r["remote_id"], (kind.seed)(e, i, true).1, "{}", kind.name);
        }
        let plan = t.run(&["plan", "--format", "json"]).code(0).json();
        assert_eq!(plan["summary"]["unchanged"], 3, "{}: {plan}", kind.name);
        assert_eq!(plan["changes"], json!([]), "{}: {plan}", kind.name);
        assert_eq!(writes(&server, kind), Vec::<String>::new(), "{}", kind.name);
    }

    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = test(&[&ACTON], &c);
    t.write("roster.yaml", &roster(&[&ACTON], &c, &server.url, "", ""));
    let run = t.run(&["dump", "--vendor", "acton"]);
    run.code(1);
    assert!(
        run.stderr.contains("has no API to list its users"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(server.mock.data().requests.is_empty());
}

#[test]
fn paging_reads_exactly_the_pages_it_needs_and_finds_every_user() {
    // DocuSign and SCIM give totals; ActivePlatform and Forms On Fire end on a
    // short page, so a full last page costs one more, empty, read.
    for (n, totals, short) in [(20, 3, 3), (21, 3, 4)] {
        let server = Server::start(Config::default());
        assert_eq!(server.mock.config.page_cap, 7);
        let c = server.mock.config.clone();
        let (yaml, emails) = seeded(&server, n);
        let t = test(&LISTING, &c);
        t.write("roster.yaml", &yaml);
        t.run(&["refresh"]).code(0);
        for kind in LISTING {
            let want = if matches!(kind.name, "docusign" | "scim") {
                totals
            } else {
                short
            };
            assert_eq!(
                server.mock.reads(kind.list),
                want,
                "{}: pages read for {n} users at 7 a page",
                kind.name
            );
        }
        assert_all_adopted(&t, &emails, &LISTING, &format!("{n} users"));
    }
}

/// The precomposed form: Ö and ü are one code point each.
const OLAF: &str = "\u{d6}laf.M\u{fc}ller@Example.com";

#[test]
fn a_non_ascii_email_is_created_once_through_a_lost_answer() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    server
        .mock
        .data()
        .faults
        .extend(std::iter::repeat_n(Fault::CommitThenDrop, 4));
    let t = test(&LISTING, &c);
    t.write(
        "roster.yaml",
        &roster(&LISTING, &c, &server.url, "", &user_on(OLAF, &LISTING)),
    );
    let key = "\u{f6}laf.m\u{fc}ller@example.com";
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    assert_eq!(server.mock.data().faulted.len(), 4, "{}", run.stdout);
    for kind in LISTING {
        assert_eq!(
            record(&t, kind.name, key)["status"],
            "pending",
            "{}",
            kind.name
        );
    }

    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    let creations = server.mock.data().creations.clone();
    for kind in LISTING {
        let r = record(&t, kind.name, key);
        assert_eq!(r["status"], "adopted", "{}: {r}", kind.name);
        assert_eq!(r["remote_id"], held_id(&server, kind, key), "{}", kind.name);
        assert_eq!(
            creations.get(&(kind.name, key.to_string())),
            Some(&1),
            "{}: {creations:?}",
            kind.name
        );
    }
    assert_eq!(creations.len(), 4, "{creations:?}");
    t.run(&["plan", "--refresh", "--detailed-exitcode"]).code(0);

    // The same address with a decomposed ö (o + U+0308) is the same user.
    let decomposed = "o\u{308}laf.m\u{fc}ller@example.com";
    let users = user_on(OLAF, &[&SCIM]) + &user_on(decomposed, &[&SCIM]);
    t.write(
        "roster.yaml",
        &roster(&[&SCIM], &c, &server.url, "", &users),
    );
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("users[1]") && run.stderr.contains("is also given at"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_lagging_search_is_waited_out_within_the_grace_period() {
    let server = Server::start(Config {
        search_lag: Duration::from_secs(3),
        ..Config::default()
    });
    let c = server.mock.config.clone();
    server
        .mock
        .data()
        .faults
        .extend(std::iter::repeat_n(Fault::CommitThenDrop, 4));
    let t = test(&LISTING, &c);
    t.write(
        "roster.yaml",
        &roster(
            &LISTING,
            &c,
            &server.url,
            "verify_grace: 5s",
            &user_on("a@example.com", &LISTING),
        ),
    );
    t.run(&["apply", "--yes"]).code(3);
    let reads_before: Vec<usize> = LISTING.iter().map(|k| server.mock.reads(k.list)).collect();

    // At once: the vendors do not list it yet; roster looks again once the
    // grace period has passed, and finds it.
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    let creations = server.mock.data().creations.clone();
    for (kind, was) in LISTING.iter().zip(reads_before) {
        let r = record(&t, kind.name, "a@example.com");
        assert_eq!(r["status"], "adopted", "{}: {r}", kind.name);
        assert_eq!(r["remote_id"], held_id(&server, kind, "a@example.com"));
        assert_eq!(
            creations.get(&(kind.name, "a@example.com".to_string())),
            Some(&1),
            "{}: created again while the vendor still lagged",
            kind.name
        );
        assert!(
            server.mock.reads(kind.list) - was >= 2,
            "{}: the first lookup found it, so the grace period was not tested",
            kind.name
        );
    }
    assert!(server.mock.data().duplicates.is_empty());
}

#[test]
fn a_pending_creation_that_never_arrived_is_sent_once_after_the_grace_period() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = test(&LISTING, &c);
    t.write(
        "roster.yaml",
        &roster(
            &LISTING,
            &c,
            &server.url,
            "verify_grace: 5s",
            &user_on("a@example.com", &LISTING),
        ),
    );
    // An apply journaled the creations a second ago and died before sending. (The
    // state keeps whole seconds: this reads as one to two seconds ago, so the
    // grace period has 3 to 4 seconds left.)
    let at =
        humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(1)).to_string();
    let pending = json!({
        "a@example.com": {
            "at": at, "error": "creation sent; no answer recorded yet",
            "fingerprint": "0", "spec": {}, "status": "pending"
        }
    });
    let vendors: serde_json::Map<String, Value> = LISTING
        .iter()
        .map(|k| (k.name.to_string(), pending.clone()))
        .collect();
    let state = json!({
        "lineage": uuid::Uuid::new_v4().to_string(), "serial": 1,
        "vendors": vendors, "version": 1
    });
    t.write(
        "state/roster.state.json",
        &serde_json::to_string_pretty(&state).expect("state"),
    );
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["verify"], 4, "{plan}");

    t.run(&["apply", "--yes"]).code(0);
    let data = server.mock.data();
    for kind in LISTING {
        let r = record(&t, kind.name, "a@example.com");
        assert_eq!(r["status"], "created", "{}: {r}", kind.name);
        assert_eq!(
            data.creations
                .get(&(kind.name, "a@example.com".to_string())),
            Some(&1),
            "{}",
            kind.name
        );
        // Users' lists and creations (not SCIM's ServiceProviderConfig).
        let requests: Vec<_> = data
            .requests
            .iter()
            .filter(|r| r.path.starts_with(kind.list) || r.method == "POST")
            .filter(|r| r.path.starts_with(&format!("/{}/", kind.name)))
            .collect();
        let first_read = requests
            .iter()
            .find(|r| r.method == "GET")
            .and_then(|r| r.at)
            .expect("looked up first");
        let post = requests
            .iter()
            .find(|r| r.method == "POST")
            .and_then(|r| r.at)
            .expect("created");
        let lookups_first = requests
            .iter()
            .take_while(|r| r.method == "GET" && r.path == kind.list)
            .count();
        assert!(
            lookups_first >= 2,
            "{}: looked up before and after the grace period",
            kind.name
        );
        // Without the grace period the creation would follow the lookup within
        // milliseconds; the bound leaves room for a slow start of apply.
        assert!(
            post.duration_since(first_read) >= Duration::from_secs(1),
            "{}: created {:?} after the first lookup, inside the grace period",
            kind.name,
            post.duration_since(first_read)
        );
    }
}

#[test]
fn a_saved_refreshed_plan_is_applied_or_refused_when_the_vendor_changed() {
    for kind in LISTING {
        let server = Server::start(Config::default());
        let c = server.mock.config.clone();
        let t = test(&[kind], &c);
        let users: String = ["a@example.com", "b@example.com", "c@example.com"]
            .iter()
            .map(|e| user_on(e, &[kind]))
            .collect();
        t.write("roster.yaml", &roster(&[kind], &c, &server.url, "", &users));
        t.run(&["apply", "--yes"]).code(0);
        t.backdate(3600);

        server.mock.delete(kind.name, "a@example.com");
        t.run(&["plan", "--refresh", "--out", "p.json"]).code(0);
        let run = t.run(&["apply", "p.json"]);
        run.code(0);
        let a = record(&t, kind.name, "a@example.com");
        assert_eq!(a["status"], "created", "{}: {a}", kind.name);
        assert_eq!(a["remote_id"], held_id(&server, kind, "a@example.com"));

        t.backdate(3600);
        server.mock.delete(kind.name, "b@example.com");
        t.run(&["plan", "--refresh", "--out", "p2.json"]).code(0);
        server.mock.delete(kind.name, "c@example.com");
        let posts = writes(&server, kind).len();
        let run = t.run(&["apply", "p2.json"]);
        run.code(1);
        assert!(
            run.stderr.contains("no longer matches"),
            "{}: {}",
            kind.name,
            run.stderr
        );
        assert_eq!(
            writes(&server, kind).len(),
            posts,
            "{}: nothing sent",
            kind.name
        );
        assert!(!server.mock.users(kind.name).contains_key("b@example.com"));
    }
}

/// A refreshed plan made while a vendor could not be read would say "nothing
/// to do" for accounts nobody looked at; a pipeline would take that for green.
#[test]
fn a_refreshed_plan_fails_when_a_vendor_cannot_be_read() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = test(&[&AP], &c)
        .env(&var(&SCIM), "Wr0ng-T0ken")
        .env(&var(&AP), &c.activeplatform_token);
    t.write(
        "roster.yaml",
        &roster(
            &[&AP, &SCIM],
            &c,
            &server.url,
            "",
            &user_on("a@example.com", &[&AP, &SCIM]),
        ),
    );
    for args in [
        &["plan", "--refresh", "--detailed-exitcode"][..],
        &["apply", "--refresh", "--yes"][..],
    ] {
        let run = t.run(args);
        run.code(1);
        assert!(
            run.stderr.contains("--refresh could not read scim"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(server.mock.data().creations.is_empty(), "nothing was sent");
    // `roster refresh` records what it could read and says the rest failed.
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains("not read    scim: listing failed"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Wr0ng") && !run.stderr.contains("Wr0ng"));
    assert!(
        run.stdout
            .contains("the vendors that could be read match the state"),
        "{}",
        run.stdout
    );
}
