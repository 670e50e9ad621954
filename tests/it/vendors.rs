//! Each vendor's driver over real HTTP against the mock: a batch is created in the
//! vendor's wire format, a user already there is adopted, a user the vendor
//! rejects fails with the vendor's message while the rest succeed, and a wrong
//! credential fails clearly without being printed.

use crate::support::{Config, Server, Test};
use serde_json::{json, Value};

/// One vendor kind's settings on the mock, its credential, and a user's block.
struct Kind {
    name: &'static str,
    settings: fn(&Config, &str) -> String,
    secret: fn(&Config) -> String,
    block: &'static str,
    /// The seeded user as the vendor holds it, and the id roster must adopt.
    seed: fn(&str) -> (Value, &'static str),
    /// The store key the mock uses (SCIM: the userName, here the email).
    rejected: &'static str,
    wrong_secret: &'static str,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "acton",
        settings: |_, url| format!("base_url: {url}/acton\n    token: ${{SECRET}}"),
        secret: |c| c.acton_token.clone(),
        block: "{ user_type: Sales, contact_lists: { create: true } }",
        seed: |e| (json!({"email": e}), ""),
        rejected: "rejected: INVALID_EMAIL_DOMAIN: email domain of mallory@blocked.example is not allowed",
        wrong_secret: "HTTP 401 access_denied: Invalid or expired access token",
    },
    Kind {
        name: "activeplatform",
        settings: |_, url| format!("base_url: {url}/activeplatform\n    api_token: ${{SECRET}}"),
        secret: |c| c.activeplatform_token.clone(),
        block: "{ custom_attributes: { age: \"21\", team: blue } }",
        seed: |e| (json!({"id": 777, "email": e}), "777"),
        rejected: "rejected: HTTP 422 email domain is not allowed",
        wrong_secret: "HTTP 401 Invalid API token",
    },
    Kind {
        name: "docusign",
        settings: |c, url| format!("base_url: {url}/docusign/restapi\n    account_id: {}\n    token: ${{SECRET}}", c.docusign_account),
        secret: |c| c.docusign_token.clone(),
        block: "{ permission_profile_id: \"12345\", group_ids: [\"678\"], company: Example }",
        seed: |e| (json!({"userId": "ds-existing", "email": e}), "ds-existing"),
        rejected: "rejected: INVALID_EMAIL_ADDRESS_FOR_USER: The email address for the user is invalid.",
        wrong_secret: "HTTP 401 AUTHORIZATION_INVALID_TOKEN",
    },
    Kind {
        name: "formsonfire",
        settings: |c, url| {
            format!("base_url: {url}/formsonfire/api/v2\n    company_id: {}\n    integration_key: ${{SECRET}}", c.formsonfire_company)
        },
        secret: |c| c.formsonfire_key.clone(),
        block: "{ website_role: User, external_id: E-1001, groups: [\"0f6d8e4b-1111-4222-8333-944455556666\"] }",
        seed: |e| (json!({"Id": "fof-existing", "Email": e}), "fof-existing"),
        rejected: "rejected: ValidationException: Validation failed [Email Email domain is not allowed. (InvalidEmail)]",
        wrong_secret: "HTTP 401 Unauthorized: Invalid CompanyId or IntegrationKey",
    },
    Kind {
        name: "scim",
        settings: |_, url| format!("base_url: {url}/scim/v2\n    token: ${{SECRET}}"),
        secret: |c| c.scim_token.clone(),
        block: "{ external_id: E-1, active: true }",
        seed: |e| (json!({"id": "scim-existing", "userName": e}), "scim-existing"),
        rejected: "rejected: HTTP 400 invalidValue: email domain is not allowed",
        wrong_secret: "HTTP 401: Authorization failure: bearer token is invalid",
    },
];

fn yaml(kind: &Kind, config: &Config, url: &str, emails: &[&str]) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  v:\n    kind: {}\n    {}\nusers:\n",
        kind.name,
        (kind.settings)(config, url)
    );
    for e in emails {
        y.push_str(&format!(
            "  - email: {e}\n    first_name: Claire\n    last_name: Horace\n    title: Analyst\n    password: generate\n    accounts:\n      v: {}\n",
            kind.block
        ));
    }
    y
}

const EMAILS: [&str; 4] = [
    "a@example.com",
    "b@example.com",
    "mallory@blocked.example",
    "c@example.com",
];

#[test]
fn every_vendor_creates_adopts_and_reports_rejections() {
    for kind in KINDS {
        let server = Server::start(Config::default());
        let config = server.mock.config.clone();
        let (seed, seeded_id) = (kind.seed)("b@example.com");
        server.mock.seed(kind_key(kind.name), "b@example.com", seed);
        let t = Test::new().env("SECRET", &(kind.secret)(&config));
        t.write("roster.yaml", &yaml(kind, &config, &server.url, &EMAILS));

        let run = t.run(&["apply", "--yes"]);
        run.code(3);
        assert!(
            run.stdout.contains("Apply: 2 created, 1 adopted, 1 failed"),
            "{}: {}",
            kind.name,
            run.stdout
        );
        assert!(
            run.stdout.contains(kind.rejected),
            "{}: {}",
            kind.name,
            run.stdout
        );

        let held = server.mock.users(kind_key(kind.name));
        assert_eq!(held.len(), 3, "{}: {held:?}", kind.name);
        let state = t.state();
        let records = &state["vendors"]["v"];
        for e in ["a@example.com", "c@example.com"] {
            assert_eq!(records[e]["status"], "created", "{}", kind.name);
            let id = records[e]["remote_id"].as_str().unwrap();
            assert!(!id.is_empty());
        }
        let adopted = &records["b@example.com"];
        assert_eq!(adopted["status"], "adopted", "{}", kind.name);
        let want_id = if seeded_id.is_empty() {
            "b@example.com"
        } else {
            seeded_id
        };
        assert_eq!(
            adopted["remote_id"], want_id,
            "{}: the vendor's id is adopted",
            kind.name
        );
        assert_eq!(records["mallory@blocked.example"]["status"], "failed");
        let creations = server.mock.data().creations.clone();
        assert!(
            creations.values().all(|n| *n == 1),
            "{}: {creations:?}",
            kind.name
        );

        // Nothing left but the rejected user; a second apply sends only that.
        let plan = t.run(&["plan", "--format", "json"]).code(0).json();
        assert_eq!(plan["summary"]["create"], 1, "{}", kind.name);
        assert_eq!(plan["summary"]["unchanged"], 3, "{}", kind.name);
    }
}

/// The mock keys users by email, but SCIM by userName (the email, by default).
fn kind_key(name: &str) -> &'static str {
    match name {
        "acton" => "acton",
        "activeplatform" => "activeplatform",
        "docusign" => "docusign",
        "formsonfire" => "formsonfire",
        _ => "scim",
    }
}

#[test]
fn a_wrong_credential_fails_clearly_and_is_never_printed() {
    for kind in KINDS {
        let server = Server::start(Config::default());
        let config = server.mock.config.clone();
        let wrong = "Wr0ng-Cr3dential-XYZ";
        let t = Test::new().env("SECRET", wrong).env("RUST_LOG", "trace");
        t.write(
            "roster.yaml",
            &yaml(
                kind,
                &config,
                &server.url,
                &["a@example.com", "b@example.com"],
            ),
        );
        let run = t.run(&["-vv", "apply", "--yes"]);
        run.code(3);
        assert!(
            run.stdout.contains(kind.wrong_secret),
            "{}: {}",
            kind.name,
            run.stdout
        );
        let state = t.read("state/roster.state.json");
        for text in [&run.stdout, &run.stderr, &state] {
            assert!(
                !text.contains(wrong),
                "{}: the credential leaked:\n{text}",
                kind.name
            );
        }
        assert!(server.mock.users(kind_key(kind.name)).is_empty());
    }
}

#[test]
fn wire_formats_are_the_vendors_own() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    for kind in KINDS {
        let t = Test::new().env("SECRET", &(kind.secret)(&c));
        t.write(
            "roster.yaml",
            &yaml(
                kind,
                &c,
                &server.url,
                &["a@example.com", "b@example.com", "c@example.com"],
            ),
        );
        t.run(&["apply", "--yes"]).code(0);
    }
    // Act-On: one request, an array of three user specs.
    let acton = server.mock.requests("/acton/");
    assert_eq!(acton.len(), 1);
    let specs: Value = serde_json::from_str(&acton[0].body).unwrap();
    assert_eq!(specs.as_array().unwrap().len(), 3);
    assert_eq!(specs[0]["userType"], "Sales");
    assert_eq!(specs[0]["contactLists"], json!({"create": "Y"}));
    assert_eq!(specs[0]["title"], "Analyst");

    // ActivePlatform: one call per user, token in the query, attributes as key/value.
    let ap = server.mock.requests("/activeplatform/");
    assert_eq!(ap.len(), 3);
    assert!(ap[0].query.contains("api_token=mock-ap-token"));
    let held = &server.mock.users("activeplatform")["a@example.com"];
    assert_eq!(
        held["custom_attributes"],
        json!([{"name": "age", "value": "21"}, {"name": "team", "value": "blue"}])
    );

    // DocuSign: one call with newUsers, default userName and jobTitle.
    let ds = server.mock.requests("/docusign/");
    assert_eq!(ds.len(), 1);
    assert_eq!(
        ds[0].path,
        "/docusign/restapi/v2.1/accounts/mock-account/users"
    );
    let body: Value = serde_json::from_str(&ds[0].body).unwrap();
    let first = &body["newUsers"][0];
    assert_eq!(first["userName"], "Claire Horace");
    assert_eq!(first["jobTitle"], "Analyst");
    assert_eq!(first["groupList"], json!([{"groupId": "678"}]));
    assert_eq!(first["permissionProfileId"], "12345");
    assert!(
        first.get("password").is_none(),
        "DocuSign takes no password"
    );

    // Forms On Fire: credentials in the body, numeric CompanyId, GUID lists.
    let fof = server.mock.requests("/formsonfire/");
    assert_eq!(fof.len(), 3);
    assert_eq!(fof[0].query, "format=json");
    let body: Value = serde_json::from_str(&fof[0].body).unwrap();
    assert_eq!(body["CompanyId"], 4242);
    assert_eq!(body["WebsiteRole"], "User");
    assert_eq!(
        body["Groups"],
        json!([{"Id": "0f6d8e4b-1111-4222-8333-944455556666"}])
    );

    // SCIM: the core schema, primary email, externalId.
    let scim = server.mock.requests("/scim/");
    assert_eq!(scim.len(), 3);
    let bodies: Vec<Value> = scim
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let body = bodies
        .iter()
        .find(|b| b["userName"] == "a@example.com")
        .expect("a@ was sent");
    assert!(scim
        .iter()
        .all(|r| r.authorization.as_deref() == Some("Bearer mock-scim-token")));
    assert!(scim
        .iter()
        .all(|r| r.content_type.as_deref() == Some("application/scim+json")));
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    assert_eq!(
        body["name"],
        json!({"givenName": "Claire", "familyName": "Horace"})
    );
    assert_eq!(
        body["emails"][0],
        json!({"value": "a@example.com", "primary": true, "type": "work"})
    );
    assert_eq!(body["externalId"], "E-1");
}

#[test]
fn acton_oauth_logs_in_once_per_run_and_reuses_the_token() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = Test::new()
        .env("ACTON_SECRET", &c.acton_client_secret)
        .env("ACTON_PASSWORD", &c.acton_password);
    let settings = format!(
        "base_url: {}/acton\n    client_id: {}\n    client_secret: ${{ACTON_SECRET}}\n    username: {}\n    password: ${{ACTON_PASSWORD}}\n    batch_size: 1",
        server.url, c.acton_client_id, c.acton_username
    );
    let mut y = format!("version: 1\nvendors:\n  v:\n    kind: acton\n    {settings}\nusers:\n");
    for e in ["a@example.com", "b@example.com", "c@example.com"] {
        y.push_str(&format!("  - email: {e}\n    first_name: A\n    last_name: B\n    password: generate\n    accounts:\n      v: {{ user_type: Marketing }}\n"));
    }
    t.write("roster.yaml", &y);
    t.run(&["apply", "--yes"]).code(0);
    assert_eq!(server.mock.users("acton").len(), 3);
    assert_eq!(server.mock.data().logins, 1, "three batches, one login");
    let creates = server.mock.requests("/acton/api/");
    assert!(
        creates
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer access-1")),
        "{creates:?}"
    );

    // A wrong password: the login fails clearly, and the password is not printed.
    let t2 = Test::new()
        .env("ACTON_SECRET", &c.acton_client_secret)
        .env("ACTON_PASSWORD", "Not-The-Pa55word");
    t2.write("roster.yaml", &y.replace("a@example.com", "d@example.com"));
    let run = t2.run(&["-vv", "apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout
            .contains("login failed: HTTP 403 invalid_grant: bad credentials"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Not-The-Pa55word") && !run.stderr.contains("Not-The-Pa55word"));
}

#[test]
fn vendor_rules_are_checked_at_load() {
    let t = Test::new();
    let cases = [
        (
            "docusign",
            "base_url: http://x\n    account_id: a\n    token: t",
            "{ user_name: \"\" }",
            "`user_name` is empty",
        ),
        (
            "formsonfire",
            "base_url: http://x\n    company_id: 1\n    integration_key: k",
            "{ website_role: Boss }",
            "unknown variant `Boss`",
        ),
        (
            "formsonfire",
            "base_url: http://x\n    company_id: 1\n    integration_key: k",
            "{ groups: [not-a-guid] }",
            "not a GUID",
        ),
        (
            "formsonfire",
            "base_url: http://x\n    company_id: 1\n    integration_key: k",
            "{ external_id: 012345678901234567890123456789012345678901234567890 }",
            "over 50 characters",
        ),
        (
            "formsonfire",
            "base_url: http://x\n    company_id: acme\n    integration_key: k",
            "{}",
            "`company_id` must be a number",
        ),
        (
            "scim",
            "base_url: http://x\n    token: t",
            "{ active: maybe }",
            "invalid type",
        ),
        (
            "activeplatform",
            "base_url: http://x\n    token: t",
            "{}",
            "`token` is not a setting of kind activeplatform",
        ),
        (
            "acton",
            "base_url: http://x\n    client_id: c",
            "{ user_type: Sales }",
            "all of client_id, client_secret, username and password",
        ),
    ];
    for (kind, settings, block, want) in cases {
        t.write(
            "roster.yaml",
            &format!("version: 1\nvendors:\n  v:\n    kind: {kind}\n    {settings}\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    password: generate\n    accounts:\n      v: {block}\n"),
        );
        let run = t.run(&["validate"]);
        run.code(1);
        assert!(
            run.stderr.contains(want),
            "{kind} {block}: want {want:?} in {}",
            run.stderr
        );
    }
}

#[test]
fn no_secret_reaches_output_or_state_of_a_failing_apply_even_at_trace() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let mut y = String::from("version: 1\nvendors:\n");
    let mut t = Test::new()
        .env("RUST_LOG", "trace")
        .env("USER_PW", "Us3r!Initial!Pw");
    let mut secrets = vec!["Us3r!Initial!Pw".to_string()];
    for kind in KINDS {
        let var = format!("SECRET_{}", kind.name.to_uppercase());
        let settings =
            (kind.settings)(&c, &server.url).replace("${SECRET}", &format!("${{{var}}}"));
        y.push_str(&format!(
            "  {}:\n    kind: {}\n    {settings}\n",
            kind.name, kind.name
        ));
        t = t.env(&var, &(kind.secret)(&c));
        secrets.push((kind.secret)(&c));
    }
    y.push_str("users:\n");
    for (i, email) in ["a@example.com", "mallory@blocked.example"]
        .iter()
        .enumerate()
    {
        let password = if i == 0 { "${USER_PW}" } else { "generate" };
        y.push_str(&format!("  - email: {email}\n    first_name: A\n    last_name: B\n    password: \"{password}\"\n    accounts:\n"));
        for kind in KINDS {
            y.push_str(&format!("      {}: {}\n", kind.name, kind.block));
        }
    }
    t.write("roster.yaml", &y);
    let run = t.run(&["-vv", "apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout.contains("5 created, 0 adopted, 5 failed"),
        "{}",
        run.stdout
    );
    let state = t.read("state/roster.state.json");
    for secret in &secrets {
        for (what, text) in [
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
            ("state", &state),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} leaked into {what}:\n{text}"
            );
        }
    }
    assert!(
        run.stderr.contains("DEBUG"),
        "verbose logging was on: {}",
        run.stderr
    );
}

#[test]
fn a_vendor_that_quotes_the_password_in_its_refusal_does_not_leak_it() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    // Within roster's ActivePlatform policy, below this installation's minimum.
    let t = Test::new()
        .env("SECRET", &c.activeplatform_token)
        .env("PW", "Sh0rt~pw1")
        .env("RUST_LOG", "trace");
    let yaml = yaml(&KINDS[1], &c, &server.url, &["a@example.com"])
        .replace("password: generate", "password: ${PW}");
    t.write("roster.yaml", &yaml);
    let run = t.run(&["-vv", "apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout
            .contains("rejected: HTTP 422 password *** is too short"),
        "{}",
        run.stdout
    );
    let state = t.read("state/roster.state.json");
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("state", &state),
    ] {
        assert!(
            !text.contains("Sh0rt~pw1"),
            "the password leaked into {what}:\n{text}"
        );
    }
}
