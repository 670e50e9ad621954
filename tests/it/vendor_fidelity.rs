//! Where the vendors' own rules meet roster, at the real binary against the mock:
//! DocuSign's JWT grant (tokens renewed during a long apply, and after a 401),
//! its burst window, its length limits; Act-On's error fields and privilege
//! objects.

use crate::support::{acton_user, acton_yaml, Config, Server, Test};
use serde_json::{json, Value};
use std::io::BufRead;
use std::time::{Duration, Instant, SystemTime};

const KEY: &str = include_str!("../fixtures/docusign-test-key.pem");

/// A roster.yaml for the mock's DocuSign with `auth` settings and `n` users.
fn docusign_yaml(url: &str, auth: &str, extra: &str, n: usize) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  ds:\n    kind: docusign\n    base_url: {url}/docusign/restapi\n    account_id: mock-account\n{auth}{extra}users:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  - {{email: user{i}@example.com, first_name: User, last_name: N{i}, accounts: {{ds: {{}}}}}}\n"
        ));
    }
    y
}

/// The JWT grant's settings for the mock, the key in `${DS_KEY}`.
fn jwt(url: &str) -> String {
    format!("    integration_key: mock-integration-key\n    user_id: mock-user-id\n    private_key: ${{DS_KEY}}\n    oauth_base_url: {url}/docusign\n")
}

/// Fails if any secret shows in what roster printed or wrote.
#[track_caller]
fn no_secret_in(t: &Test, run: &crate::support::Run, server: &Server) {
    let mut secrets: Vec<String> = server
        .mock
        .data()
        .docusign_tokens
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    for r in server.mock.requests("/docusign/oauth/token") {
        secrets.extend(
            r.body
                .split('&')
                .filter_map(|kv| kv.strip_prefix("assertion=").map(str::to_string)),
        );
    }
    secrets.push(KEY.lines().nth(1).unwrap().to_string());
    let state = if t.exists("state/roster.state.json") {
        t.read("state/roster.state.json")
    } else {
        String::new()
    };
    for s in &secrets {
        for (what, text) in [
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
            ("state", &state),
        ] {
            assert!(
                !text.contains(s.as_str()),
                "a secret reached {what}: {text}"
            );
        }
    }
}

#[test]
fn a_long_apply_renews_its_docusign_token_before_it_expires() {
    let server = Server::start(Config {
        docusign_token_lifetime: Duration::from_secs(4),
        ..Config::default()
    });
    let t = Test::new().env("DS_KEY", KEY);
    t.write(
        "roster.yaml",
        &docusign_yaml(
            &server.url,
            &jwt(&server.url),
            "    batch_size: 1\n    concurrency: 2\n    rate_limit: 10/s\n",
            36,
        ),
    );
    let started = Instant::now();
    let run = t.run(&["apply", "--yes"]);
    let elapsed = started.elapsed();
    run.code(0);
    assert!(run.stdout.contains("36 created"), "{}", run.stdout);
    assert!(
        elapsed > Duration::from_secs(3),
        "the apply outlives a token: {elapsed:?}"
    );

    let data = server.mock.data();
    // A token lives 4 s and is renewed a second early: a login about every 3 s,
    // one at a time even with two requests in flight.
    let most = 1.0 + elapsed.as_secs_f64() / 3.0;
    assert!(
        data.docusign_logins >= 2 && data.docusign_logins as f64 <= most.ceil(),
        "{} logins in {elapsed:?}",
        data.docusign_logins
    );
    assert_eq!(
        data.docusign_expired, 0,
        "a request left with an expired token"
    );
    let issued: Vec<String> = data
        .docusign_tokens
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    drop(data);
    let creations = server.mock.requests("/docusign/restapi");
    assert_eq!(creations.len(), 36);
    for r in &creations {
        let token = r
            .authorization
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches("Bearer ");
        assert!(issued.iter().any(|i| i == token), "sent with {token:?}");
    }
    let logins = server.mock.requests("/docusign/oauth/token");
    assert!(logins.iter().all(|r| r.body.starts_with(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
    )));
    no_secret_in(&t, &run, &server);
}

#[test]
fn a_token_refused_with_401_is_renewed_once_and_the_request_sent_again() {
    // The answer promises an hour; the vendor drops the token after one second.
    let server = Server::start(Config {
        docusign_token_lifetime: Duration::from_secs(1),
        docusign_expires_in: Some(3600),
        ..Config::default()
    });
    let t = Test::new().env("DS_KEY", KEY);
    let key_file = t.path("keys/ds.pem");
    t.write("keys/ds.pem", KEY);
    let auth = format!(
        "    integration_key: mock-integration-key\n    user_id: mock-user-id\n    private_key_file: {}\n    oauth_base_url: {}/docusign\n",
        key_file.display(),
        server.url
    );
    t.write(
        "roster.yaml",
        &docusign_yaml(
            &server.url,
            &auth,
            "    batch_size: 1\n    concurrency: 1\n    rate_limit: 4/s\n",
            8,
        ),
    );
    let run = t.run(&["apply", "--yes", "-v"]);
    run.code(0);
    assert!(run.stdout.contains("8 created"), "{}", run.stdout);
    assert!(
        run.stderr.contains("renewing it and sending again"),
        "{}",
        run.stderr
    );

    let data = server.mock.data();
    assert!(
        data.docusign_expired >= 1,
        "the token never expired: the test shows nothing"
    );
    // One login to start, one per refusal; each user created exactly once.
    assert_eq!(data.docusign_logins, 1 + data.docusign_expired);
    assert_eq!(data.creations.len(), 8);
    assert!(
        data.creations.values().all(|n| *n == 1),
        "{:?}",
        data.creations
    );
    drop(data);
    let state = t.state();
    for i in 0..8 {
        assert_eq!(
            state["vendors"]["ds"][format!("user{i}@example.com")]["status"],
            "created"
        );
    }
    no_secret_in(&t, &run, &server);
}

#[test]
fn a_refused_docusign_login_fails_the_users_clearly_and_creates_nothing() {
    let server = Server::start(Config {
        docusign_user_id: "someone-else".into(),
        ..Config::default()
    });
    let t = Test::new().env("DS_KEY", KEY);
    t.write(
        "roster.yaml",
        &docusign_yaml(&server.url, &jwt(&server.url), "", 2),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout
            .contains("DocuSign login (JWT grant) failed: HTTP 400 invalid_grant: user_not_found"),
        "{}",
        run.stdout
    );
    assert!(server.mock.requests("/docusign/restapi").is_empty());
    // Nothing was sent, so nothing is left to verify: failed, not pending.
    let state = t.state();
    assert_eq!(
        state["vendors"]["ds"]["user0@example.com"]["status"],
        "failed"
    );
    no_secret_in(&t, &run, &server);
}

#[test]
fn a_docusign_key_that_cannot_sign_stops_apply_before_anything_is_sent() {
    let server = Server::start(Config::default());
    let t = Test::new().env("DS_KEY", "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n-----END RSA PRIVATE KEY-----\n");
    t.write(
        "roster.yaml",
        &docusign_yaml(&server.url, &jwt(&server.url), "", 1),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("vendor `ds`: `private_key`: not an RSA private key in PEM"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("c2VjcmV0"), "{}", run.stderr);
    assert!(server.mock.data().requests.is_empty());
}

#[test]
fn docusign_settings_and_lengths_are_checked_without_secrets() {
    let cases = [
        ("    token: ${DS_TOKEN}\n    user_id: u\n", "give either `token` or the JWT grant's settings, not both"),
        ("    integration_key: ik\n    user_id: u\n", "the JWT grant needs `private_key`"),
        ("    integration_key: ik\n    private_key: ${DS_KEY}\n", "the JWT grant needs `user_id`"),
        (
            "    integration_key: ik\n    user_id: u\n    private_key: ${DS_KEY}\n    private_key_file: k.pem\n",
            "give `private_key` or `private_key_file`, not both",
        ),
        ("    integration_key: ik\n", "the JWT grant needs `user_id`"),
    ];
    for (auth, want) in cases {
        let t = Test::new();
        t.write("roster.yaml", &docusign_yaml("http://x", auth, "", 1));
        let run = t.run(&["validate"]);
        run.code(1);
        assert!(run.stderr.contains(want), "{auth}: {}", run.stderr);
        assert!(
            run.stderr.contains("vendors.ds"),
            "names the place: {}",
            run.stderr
        );
    }
    // The JWT grant with none of its variables set: valid, with a warning.
    let t = Test::new();
    t.write(
        "roster.yaml",
        &docusign_yaml("http://x", &jwt("https://account-d.docusign.com"), "", 1),
    );
    let run = t.run(&["validate"]);
    run.code(0);
    assert!(run.stderr.contains("${DS_KEY}"), "{}", run.stderr);
    // The integration key is the app's public id; the private key is a secret.
    assert!(!run.stderr.contains("literal credential"), "{}", run.stderr);
    let literal = jwt("https://account-d.docusign.com").replace("${DS_KEY}", "inline-key");
    t.write("roster.yaml", &docusign_yaml("http://x", &literal, "", 1));
    let run = t.run(&["validate"]);
    run.code(0);
    assert!(
        run.stderr
            .contains("vendors.ds.private_key is a literal credential"),
        "{}",
        run.stderr
    );

    let long = docusign_yaml("http://x", "    token: ${DS_TOKEN}\n", "", 0)
        + &format!(
            "  - {{email: {}@example.com, first_name: A, last_name: B, middle_name: {}, accounts: {{ds: {{}}}}}}\n  - {{email: {}@example.com, first_name: C, last_name: D, accounts: {{ds: {{}}}}}}\n",
            "m", "M".repeat(51), "e".repeat(89)
        );
    let t = Test::new();
    t.write("roster.yaml", &long);
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("`middle_name` is over DocuSign's 50 characters"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`email` is over DocuSign's 100 characters"),
        "{}",
        run.stderr
    );
}

fn unix_in(secs: u64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (now + secs).to_string()
}

/// DocuSign's answer to a spent burst, with the hourly quota far from spent.
fn burst_spent(burst_reset: Option<u64>) -> crate::support::mock::Fault {
    let mut headers = vec![
        ("x-ratelimit-limit", "3000".to_string()),
        ("x-ratelimit-remaining", "1200".to_string()),
        ("x-ratelimit-reset", unix_in(3000)),
        ("x-burstlimit-remaining", "0".to_string()),
    ];
    if let Some(secs) = burst_reset {
        headers.push(("x-burstlimit-reset", unix_in(secs)));
    }
    crate::support::mock::Fault::Answer {
        status: 400,
        headers,
        body: json!({"errorCode": "BURST_APIINVOCATION_LIMIT_EXCEEDED", "message": "The maximum number of API calls per burst was exceeded."}),
    }
}

/// Waits for `child` at most `limit`; kills it and fails if it is still running.
fn finish(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("apply still running after {limit:?}: it waits for the hourly reset");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn a_spent_docusign_burst_waits_for_its_own_reset_not_the_hourly_one() {
    let server = Server::start(Config::default());
    server.mock.data().faults.push_back(burst_spent(Some(2)));
    let t = Test::new().env("DS_TOKEN", "mock-docusign-token");
    t.write(
        "roster.yaml",
        &docusign_yaml(&server.url, "    token: ${DS_TOKEN}\n", "", 1),
    );
    let started = Instant::now();
    let out = finish(t.spawn(&["apply", "--yes"]), Duration::from_secs(60));
    let elapsed = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        elapsed >= Duration::from_secs(1),
        "did not wait: {elapsed:?}"
    );
    assert_eq!(server.mock.users("docusign").len(), 1);
}

#[test]
fn a_spent_docusign_burst_without_a_reset_waits_thirty_seconds() {
    let server = Server::start(Config::default());
    server.mock.data().faults.push_back(burst_spent(None));
    let t = Test::new().env("DS_TOKEN", "mock-docusign-token");
    t.write(
        "roster.yaml",
        &docusign_yaml(&server.url, "    token: ${DS_TOKEN}\n", "", 1),
    );
    let mut child = t.spawn(&["apply", "--yes", "-v", "--log-format", "json"]);
    // The log says how long it will wait; no need to sit through it.
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["fields"]["message"] == "vendor asked to slow down; retrying" {
                let _ = tx.send(v["fields"]["wait_ms"].clone());
                return;
            }
        }
    });
    let wait = rx.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let wait = wait
        .expect("no slow-down logged")
        .as_u64()
        .expect("wait_ms");
    assert!(
        (29_000..=30_000).contains(&wait),
        "waits {wait} ms, not the 30 s burst window"
    );
}

#[test]
fn acton_errors_are_read_from_any_field_and_recorded_in_the_vendors_words() {
    let server = Server::start(Config::default());
    let elements = [
        (
            "msg@example.com",
            json!({"status": "error", "message": "Title is too long for this account"}),
        ),
        (
            "err@example.com",
            json!({"status": "error", "error": 4012, "message": "Seat limit reached"}),
        ),
        (
            "code@example.com",
            json!({"status": "error", "errorCode": "E_PHONE", "errorMessage": "phoneNumber: bad format"}),
        ),
        (
            "dup@example.com",
            json!({"status": "error", "message": "A user with email dup@example.com already exists"}),
        ),
    ];
    {
        let mut data = server.mock.data();
        for (email, element) in &elements {
            let mut e = element.clone();
            e["email"] = json!(email);
            data.acton_elements.insert(email.to_string(), e);
        }
    }
    let users: String = elements.iter().map(|(e, _)| acton_user(e, "")).collect();
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write("roster.yaml", &acton_yaml(&server.url, &users));
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    let state = t.state();
    let record = |e: &str| state["vendors"]["acton"][e].clone();
    assert_eq!(
        record("msg@example.com")["error"],
        "rejected: Title is too long for this account"
    );
    assert_eq!(
        record("err@example.com")["error"],
        "rejected: 4012: Seat limit reached"
    );
    assert_eq!(
        record("code@example.com")["error"],
        "rejected: E_PHONE: phoneNumber: bad format"
    );
    assert_eq!(record("dup@example.com")["status"], "adopted");
}

#[test]
fn acton_is_never_sent_an_empty_privilege_object() {
    let server = Server::start(Config::default());
    let users = acton_user(
        "empty@example.com",
        ", marketing: {}, contact_lists: {}, content: {}, programs: {}, account_wide_email: {}",
    ) + &acton_user("some@example.com", ", contact_lists: {}, content: { create: false }")
        // The role's marketing privileges stay under an empty block of the user's own.
        + "  - email: role@example.com\n    first_name: R\n    last_name: L\n    password: generate\n    roles: [admin]\n    accounts:\n      acton: { marketing: {} }\n";
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write("roster.yaml", &acton_yaml(&server.url, &users));
    t.run(&["apply", "--yes"]).code(0);

    let mut sent = std::collections::BTreeMap::new();
    for r in server.mock.requests("/acton/api/1/user") {
        let specs: Vec<Value> = serde_json::from_str(&r.body).expect("a JSON array");
        for s in specs {
            sent.insert(s["email"].as_str().unwrap().to_string(), s);
        }
    }
    let privileges = [
        "marketingPrivileges",
        "contactLists",
        "content",
        "programs",
        "accountWideEmail",
    ];
    let keys = |email: &str| -> Vec<&str> {
        privileges
            .iter()
            .copied()
            .filter(|k| sent[email].get(*k).is_some())
            .collect()
    };
    assert_eq!(
        keys("empty@example.com"),
        Vec::<&str>::new(),
        "{}",
        sent["empty@example.com"]
    );
    assert_eq!(keys("some@example.com"), ["content"]);
    assert_eq!(sent["some@example.com"]["content"], json!({"create": "N"}));
    assert_eq!(keys("role@example.com"), ["marketingPrivileges"]);
    assert_eq!(
        sent["role@example.com"]["marketingPrivileges"],
        json!({"launchPrivilege": "Allowed", "admin": "Y"})
    );
}
