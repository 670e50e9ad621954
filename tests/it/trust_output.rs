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
    scim_server(vec![], 400, refusal)
}

/// A SCIM server that lists `resources` (one page) and answers every creation
/// with `status` and `body`.
fn scim_server(resources: Vec<serde_json::Value>, status: u16, body: serde_json::Value) -> String {
    crate::support::serve(
        axum::Router::new().fallback(move |method: axum::http::Method| {
            let (resources, body) = (resources.clone(), body.clone());
            async move {
                use axum::response::IntoResponse;
                if method == axum::http::Method::POST {
                    let status = axum::http::StatusCode::from_u16(status).expect("status");
                    (status, axum::Json(body)).into_response()
                } else {
                    axum::Json(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                        "totalResults": resources.len(), "startIndex": 1,
                        "itemsPerPage": resources.len(), "Resources": resources,
                    }))
                    .into_response()
                }
            }
        }),
    )
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
    shows_no_control(&runs);
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

/// roster.yaml with one vendor of `settings` and one user of it.
fn one_vendor(settings: &str) -> String {
    format!(
        "version: 1\nvendors:\n  v:\n    {settings}\nusers:\n  - {{ email: a@example.com, first_name: A, last_name: B, accounts: {{ v: {{}} }} }}\n"
    )
}

#[test]
fn no_message_shows_the_value_of_a_variable_or_the_credentials_of_a_url() {
    let token = "glpat-Zq8xYw7vU6tS5rR4pQ3o";
    let cases = [
        // A CI secret given to a setting that is not one.
        (
            "kind: scim\n    base_url: ${ROSTER_BOT_TOKEN}\n    token: ${ACTON_TOKEN}",
            "ROSTER_BOT_TOKEN",
            token,
        ),
        (
            "kind: formsonfire\n    base_url: https://fof.example\n    company_id: ${FOF_KEY}\n    integration_key: ${FOF_KEY}",
            "FOF_KEY",
            token,
        ),
        // Credentials in a URL, from a variable or written.
        (
            "kind: scim\n    base_url: ${SCIM_URL}\n    token: ${ACTON_TOKEN}",
            "SCIM_URL",
            "https://bot:Pw-hunter2-secret@scim.example/v2",
        ),
        (
            "kind: scim\n    base_url: https://bot:Pw-hunter2-secret@scim.example/v2\n    token: ${ACTON_TOKEN}",
            "",
            "",
        ),
    ];
    for (settings, variable, value) in cases {
        let mut t = Test::new().env("ACTON_TOKEN", "acton-token-1234567");
        if !variable.is_empty() {
            t = t.env(variable, value);
        }
        t.write("roster.yaml", &one_vendor(settings));
        for args in [
            &["validate"][..],
            &["plan"],
            &["plan", "--format", "json"],
            &["apply", "--yes"],
        ] {
            let run = t.run(args);
            run.code(1);
            let all = format!("{}{}", run.stdout, run.stderr);
            assert!(
                all.contains("vendors.v.")
                    || all.contains("`base_url`")
                    || all.contains("`company_id`"),
                "{args:?} names the setting: {all}"
            );
            if !variable.is_empty() {
                assert!(all.contains(variable), "{args:?} names the variable: {all}");
            }
            for shown in [token, "Zq8xYw7vU6tS", "Pw-hunter2-secret", "bot:"] {
                assert!(
                    !all.contains(shown),
                    "{settings} {args:?} shows {shown:?}:\n{all}"
                );
            }
        }
        assert!(!t.exists("state/roster.state.json"), "{settings}");
    }
    // A file named by a variable: the file is read by apply, and a failure
    // names the variable.
    let t = Test::new().env("KEY_FILE", &format!("/nonexistent/{token}.pem"));
    t.write(
        "roster.yaml",
        &one_vendor("kind: docusign\n    base_url: https://ds.example\n    account_id: acc\n    integration_key: ik\n    user_id: uid\n    private_key_file: ${KEY_FILE}"),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("`private_key_file` \"${KEY_FILE}\": cannot read it"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Zq8xYw7vU6tS"), "{}", run.stderr);
}

#[test]
fn a_vendor_echoing_a_variables_value_has_it_redacted() {
    // The base URL comes from a variable; the vendor quotes it back, and the
    // id of a private tenant in it is what a variable was hiding.
    let echo = refusing_scim(json!({
        "scimType": "invalidValue",
        "detail": "see the tenant at tenant-7f3a9c1e5b2d, alias TENANT-7F3A9C1E5B2D",
    }));
    let echo_base = format!("{echo}/scim/v2/tenant-7f3a9c1e5b2d");
    let t = Test::new()
        .env("SCIM_TOKEN", "scim-token-0123456789")
        .env("SCIM_URL", &echo_base);
    t.write(
        "roster.yaml",
        &one_vendor("kind: scim\n    base_url: ${SCIM_URL}\n    token: ${SCIM_TOKEN}\n    rate_limit: 1000/s"),
    );
    let apply = t.run(&["apply", "--yes"]);
    apply.code(3);
    let state = t.read("state/roster.state.json");
    for (what, text) in [
        ("stdout", &apply.stdout),
        ("stderr", &apply.stderr),
        ("state", &state),
    ] {
        assert!(
            !text.contains("7f3a9c1e5b2d") && !text.contains("7F3A9C1E5B2D"),
            "{what}: {text}"
        );
    }
    assert!(
        apply
            .stdout
            .contains("rejected: HTTP 400 invalidValue: see the tenant at ***, alias ***"),
        "{}",
        apply.stdout
    );
}

#[test]
fn an_id_that_holds_the_credential_is_neither_printed_nor_recorded() {
    let token = "scim-token-0123456789";
    let yaml = |url: &str| {
        one_vendor(&format!(
            "kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s"
        ))
    };
    // A creation answered with the credential, upper-cased, as the new id.
    let url = scim_server(
        vec![],
        201,
        json!({"id": format!("u-{}", token.to_uppercase())}),
    );
    let t = Test::new().env("SCIM_TOKEN", token);
    t.write("roster.yaml", &yaml(&url));
    let apply = t.run(&["apply", "--yes"]);
    apply.code(0);
    let record = &t.state()["vendors"]["v"]["a@example.com"];
    assert_eq!(record["status"], "created", "{record}");
    assert!(record.get("remote_id").is_none(), "{record}");
    assert!(
        record["warnings"][0]
            .as_str()
            .unwrap_or("")
            .contains("holds a credential"),
        "{record}"
    );
    let created = (apply, t.read("state/roster.state.json"));

    // A list whose account has the credential for its id.
    let url = scim_server(
        vec![json!({
            "id": token, "userName": "a@example.com", "active": true,
            "emails": [{"value": "a@example.com", "primary": true}],
            "name": {"givenName": "A", "familyName": "B"},
        })],
        400,
        json!({}),
    );
    let t = Test::new()
        .env("SCIM_TOKEN", token)
        .env("RUST_LOG", "trace");
    t.write("roster.yaml", &yaml(&url));
    let refresh = t.run(&["refresh"]);
    assert_ne!(refresh.code, 0, "{}\n{}", refresh.stdout, refresh.stderr);
    // The account is named; its id is not.
    assert!(
        refresh
            .stdout
            .contains("an account (a@example.com) whose id holds a credential"),
        "{}",
        refresh.stdout
    );
    let dump = t.run(&["dump", "--vendor", "v"]);
    assert_ne!(dump.code, 0, "{}", dump.stdout);
    let state = if t.exists("state/roster.state.json") {
        t.read("state/roster.state.json")
    } else {
        String::new()
    };
    for (what, text) in [
        ("apply stdout", &created.0.stdout),
        ("apply stderr", &created.0.stderr),
        ("apply state", &created.1),
        ("refresh stdout", &refresh.stdout),
        ("refresh stderr", &refresh.stderr),
        ("dump stdout", &dump.stdout),
        ("dump stderr", &dump.stderr),
        ("refresh state", &state),
    ] {
        assert!(
            !text.to_lowercase().contains(token),
            "{what} shows the token:\n{text}"
        );
    }
}

#[test]
fn an_id_with_escape_sequences_is_shown_escaped_by_refresh_import_dump_and_state_list() {
    let id = "77\u{1b}[2J\r  refreshed   v  boss@example.com: adopted\u{1b}]8;;https://evil.example/\u{7}\u{202e}";
    let url = scim_server(
        vec![json!({
            "id": id, "userName": "a@example.com", "active": true,
            "emails": [{"value": "a@example.com", "primary": true}],
            "name": {"givenName": "A", "familyName": "B"},
        })],
        400,
        json!({}),
    );
    let t = Test::new().env("SCIM_TOKEN", "scim-token-0123456789");
    t.write(
        "roster.yaml",
        &one_vendor(&format!(
            "kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s"
        )),
    );
    let mut runs = vec![t.run(&["plan", "--refresh"])];
    runs.push(t.run(&["import", "--vendor", "v"]));
    runs.push(t.run(&["refresh"]));
    runs.push(t.run(&["dump", "--vendor", "v"]));
    runs.push(t.run(&["state", "list"]));
    runs.push(t.run(&["history"]));
    shows_no_control(&runs);
    assert!(
        runs[1].stdout.contains("id 77\\u{1b}[2J\\u{d}"),
        "{}",
        runs[1].stdout
    );
    // The state keeps the vendor's id as it is: it is data, matched on the next read.
    assert_eq!(t.state()["vendors"]["v"]["a@example.com"]["remote_id"], id);
}

#[test]
fn a_variables_value_in_a_request_path_reaches_no_log() {
    let account = "7f3a9c1e-5b2d-4e6f-8a9b-0c1d2e3f4a5b";
    let server = Server::start(Config {
        docusign_account: account.into(),
        ..Config::default()
    });
    let t = Test::new()
        .env("DS_ACCOUNT", account)
        .env("DS_TOKEN", &server.mock.config.docusign_token)
        .env("RUST_LOG", "trace");
    t.write(
        "roster.yaml",
        &one_vendor(&format!(
            "kind: docusign\n    base_url: {}/docusign/restapi\n    account_id: ${{DS_ACCOUNT}}\n    token: ${{DS_TOKEN}}\n    rate_limit: 1000/s",
            server.url
        )),
    );
    let apply = t.run(&["apply", "--yes"]);
    apply.code(0);
    let refresh = t.run(&["refresh"]);
    refresh.code(0);
    assert!(
        server.mock.requests("/docusign").len() >= 2,
        "the vendor was used"
    );
    for (what, text) in [
        ("apply stdout", &apply.stdout),
        ("apply stderr", &apply.stderr),
        ("refresh stdout", &refresh.stdout),
        ("refresh stderr", &refresh.stderr),
        ("state", &t.read("state/roster.state.json")),
    ] {
        assert!(
            !text.contains(account),
            "{what} shows the account id:\n{text}"
        );
        assert!(
            !text.contains("7f3a9c1e-5b2d"),
            "{what} shows part of it:\n{text}"
        );
    }
    assert!(
        apply.stderr.contains("/v2.1/accounts/***/users"),
        "{}",
        apply.stderr
    );
}

#[test]
fn a_mistyped_database_url_is_refused_without_its_password() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &one_vendor("kind: scim\n    base_url: https://scim.example/v2\n    token: ${SCIM_TOKEN}"),
    );
    for url in [
        "postgresq://admin:S3cret-pw@db.example/roster",
        "postgres+tls://admin:S3cret-pw@db.example:5432/roster",
    ] {
        let run = t.run(&["plan", "--state", url]);
        run.code(1);
        assert!(run.stderr.contains("***@db.example"), "{}", run.stderr);
        assert!(
            !run.stderr.contains("S3cret-pw") && !run.stderr.contains("admin:"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_variables_value_that_is_also_an_id_is_redacted_not_refused() {
    // DocuSign's `user_id` (the user roster acts as) is also an account the
    // vendor lists; here the account id plays that part.
    let account = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
    let server = Server::start(Config {
        docusign_account: account.into(),
        ..Config::default()
    });
    server.mock.seed(
        "docusign",
        "a@example.com",
        json!({
            "userId": account, "email": "a@example.com", "firstName": "A", "lastName": "B",
            "userName": "A B", "userStatus": "Active",
        }),
    );
    let t = Test::new()
        .env("DS_ACCOUNT", account)
        .env("DS_TOKEN", &server.mock.config.docusign_token);
    t.write(
        "roster.yaml",
        &one_vendor(&format!(
            "kind: docusign\n    base_url: {}/docusign/restapi\n    account_id: ${{DS_ACCOUNT}}\n    token: ${{DS_TOKEN}}\n    rate_limit: 1000/s",
            server.url
        )),
    );
    let refresh = t.run(&["refresh"]);
    refresh.code(0);
    assert!(
        refresh.stdout.contains("found at the vendor as id ***"),
        "{}",
        refresh.stdout
    );
    assert!(!refresh.stdout.contains(account), "{}", refresh.stdout);
    let record = &t.state()["vendors"]["v"]["a@example.com"];
    assert_eq!(record["status"], "adopted", "{record}");
    assert_eq!(record["remote_id"], account, "{record}");
    std::fs::remove_file(t.path("state/roster.state.json")).expect("rm state");
    let import = t.run(&["import", "--vendor", "v"]);
    import.code(0);
    assert!(import.stdout.contains("as id ***"), "{}", import.stdout);
    assert!(!import.stdout.contains(account), "{}", import.stdout);
}

#[test]
fn a_saved_plan_and_every_plan_format_hold_no_variables_value() {
    let token = "glpat-Zq8xYw7vU6tS5rR4pQ3o";
    let base = format!("https://scim.example/{token}/v2");
    let t = Test::new()
        .env("ROSTER_BOT_TOKEN", &base)
        .env("SCIM_TOKEN", token)
        .env("TENANT", "tenant-4c9e1a77");
    t.write(
        "roster.yaml",
        &one_vendor("kind: docusign\n    base_url: ${ROSTER_BOT_TOKEN}\n    account_id: ${TENANT}\n    token: ${SCIM_TOKEN}"),
    );
    let mut outputs = Vec::new();
    for args in [
        &["validate"][..],
        &["plan", "--out", "plan.json"],
        &["plan", "--format", "json"],
        &["plan", "--format", "markdown"],
        &["show", "plan.json"],
    ] {
        let run = t.run(args);
        run.code(0);
        outputs.push((format!("{args:?}"), format!("{}{}", run.stdout, run.stderr)));
    }
    outputs.push(("plan.json".into(), t.read("plan.json")));
    for (what, text) in &outputs {
        for value in [token, "Zq8xYw7vU6tS", "scim.example", "4c9e1a77"] {
            assert!(!text.contains(value), "{what} shows {value:?}:\n{text}");
        }
    }
}

/// Neither stdout nor stderr of any of `runs` holds a character a terminal acts on.
fn shows_no_control(runs: &[crate::support::Run]) {
    for run in runs {
        for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(!text.chars().any(acted_on), "{what}: {text:?}");
        }
    }
}
