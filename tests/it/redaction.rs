//! No secret leaves roster, in any form: every vendor answers each creation
//! (and Act-On each token refresh) with an error quoting the request, raw,
//! percent-encoded, form-encoded, JSON-escaped and base64, and not one form of
//! one secret (settings, passwords, tokens obtained at run time) reaches stdout,
//! stderr at RUST_LOG=trace, the state or the journal.

use crate::support::{Config, Server, Test};
use std::io::Read;
use std::time::{Duration, Instant};

const JOURNAL: &str = "state/roster.state.json.journal";

/// Secrets chosen to need escaping in every encoding.
fn config() -> Config {
    Config {
        echo: true,
        // Shorter than roster's minute of margin: every Act-On batch refreshes.
        acton_token_lifetime: 30,
        acton_client_secret: "cs+Client/Secret=42".into(),
        acton_password: "grant pass\"word\\x/y".into(),
        docusign_token: "ds.Token+with/slash==".into(),
        activeplatform_token: "ap+SECRET/with=chars&more".into(),
        formsonfire_key: "fof key \"quoted\" é/ü".into(),
        scim_token: "scim-Tok3n/+=x".into(),
        ..Config::default()
    }
}

const PASSWORDS: [&str; 2] = ["Pw!x9?a|Q#1%^&*@$", "Zz9&Yy8%Xx7^ab"];

fn yaml(url: &str, c: &Config, slow: Option<&str>) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    client_id: {}\n    client_secret: ${{ACTON_SECRET}}\n    username: {}\n    password: ${{ACTON_PASSWORD}}\n    batch_size: 1\n    concurrency: 1\n  ap:\n    kind: activeplatform\n    base_url: {url}/activeplatform\n    api_token: ${{AP_TOKEN}}\n  ds:\n    kind: docusign\n    base_url: {url}/docusign/restapi\n    account_id: {}\n    token: ${{DOCUSIGN_TOKEN}}\n  fof:\n    kind: formsonfire\n    base_url: {url}/formsonfire/api/v2\n    company_id: {}\n    integration_key: ${{FOF_KEY}}\n  scim:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n",
        c.acton_client_id, c.acton_username, c.docusign_account, c.formsonfire_company
    );
    if let Some(slow) = slow {
        y.push_str(&format!(
            "  slow:\n    kind: scim\n    base_url: {slow}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    timeout: 120s\n"
        ));
    }
    y.push_str("users:\n");
    for (i, _) in PASSWORDS.iter().enumerate() {
        y.push_str(&format!(
            "  - email: user{i}@example.com\n    first_name: U\n    last_name: N\n    password: ${{PW_{i}}}\n    accounts:\n      acton: {{ user_type: Marketing }}\n      ap: {{}}\n      ds: {{}}\n      fof: {{}}\n      scim: {{}}\n"
        ));
        if slow.is_some() {
            y.push_str("      slow: {}\n");
        }
    }
    y
}

fn test(server: &Server, slow: Option<&str>) -> Test {
    let c = &server.mock.config;
    let mut t = Test::new()
        .env("ACTON_SECRET", &c.acton_client_secret)
        .env("ACTON_PASSWORD", &c.acton_password)
        .env("AP_TOKEN", &c.activeplatform_token)
        .env("DOCUSIGN_TOKEN", &c.docusign_token)
        .env("FOF_KEY", &c.formsonfire_key)
        .env("SCIM_TOKEN", &c.scim_token)
        .env("RUST_LOG", "trace");
    for (i, pw) in PASSWORDS.iter().enumerate() {
        t = t.env(&format!("PW_{i}"), pw);
    }
    t.write("roster.yaml", &yaml(&server.url, c, slow));
    t
}

/// Every secret of the run: the settings, the passwords, and the Act-On tokens
/// the mock handed out.
fn secrets(server: &Server) -> Vec<String> {
    let c = &server.mock.config;
    let mut all: Vec<String> = [
        &c.acton_client_secret,
        &c.acton_password,
        &c.docusign_token,
        &c.activeplatform_token,
        &c.formsonfire_key,
        &c.scim_token,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(PASSWORDS.iter().map(|p| p.to_string()));
    let issued = server.mock.data().issued_tokens.clone();
    assert!(!issued.is_empty(), "Act-On handed out tokens");
    for access in issued {
        all.push(access.replace("access-", "refresh-"));
        all.push(access);
    }
    all
}

/// The forms a secret is written in, each computed here independently of roster.
fn forms(secret: &str) -> Vec<String> {
    let percent = |lower: bool, plus: bool, keep: &str| -> String {
        secret
            .bytes()
            .map(|b| match b {
                b' ' if plus => "+".to_string(),
                _ if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) => {
                    char::from(b).to_string()
                }
                _ if lower => format!("%{b:02x}"),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_string();
    let form = percent(false, true, "*-._");
    let twice: String = form
        .bytes()
        .map(|b| match b {
            _ if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    vec![
        secret.to_string(),
        twice,
        percent(false, false, "-._~"),
        percent(true, false, "-._~"),
        percent(false, true, "-._~"),
        percent(false, true, "*-._"),
        json.clone(),
        json.replace('/', "\\/"),
    ]
}

/// Every form of every secret found in `text`.
fn leaks(text: &str, secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for secret in secrets {
        for form in forms(secret) {
            if text.contains(&form) {
                found.push(format!("{form:?} (of {secret:?})"));
            }
            if roster_mock::leaks::base64_holds(text, form.as_bytes()) {
                found.push(format!("base64 of {form:?} (of {secret:?})"));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn an_echoing_vendor_leaks_no_form_of_any_secret() {
    let server = Server::start(config());
    let t = test(&server, None);
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    let state = t.read("state/roster.state.json");
    // The echoes did arrive, and were shown with the secrets taken out.
    assert!(
        run.stdout.contains("ECHO") && run.stdout.contains("authorization=Bearer ***"),
        "{}",
        run.stdout
    );
    assert!(
        state.contains("ECHO") && state.contains("base64: "),
        "{state}"
    );
    assert!(
        run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
        "trace logging is on"
    );
    assert!(
        run.stderr.contains("token refresh failed"),
        "an Act-On refresh was refused with an echo: {}",
        run.stderr
    );
    let failed = t.state()["vendors"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|users| users.as_object().unwrap().values())
        .filter(|r| r["status"] == "failed")
        .count();
    assert_eq!(failed, 10, "every vendor refused both users");
    let sent: Vec<_> = server
        .mock
        .requests("/")
        .iter()
        .map(|r| r.path.clone())
        .collect();
    for vendor in [
        "/acton/api/",
        "/activeplatform/",
        "/docusign/",
        "/formsonfire/",
        "/scim/",
    ] {
        assert!(
            sent.iter().any(|p| p.starts_with(vendor)),
            "{vendor}: {sent:?}"
        );
    }

    let secrets = secrets(&server);
    // The check itself sees what it looks for.
    let raw = server
        .mock
        .requests("/")
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<String>();
    assert!(!leaks(&raw, &secrets).is_empty());
    for (name, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("state", &state),
    ] {
        let found = leaks(text, &secrets);
        assert!(found.is_empty(), "{name} leaks {found:?}:\n{text}");
    }
}

#[test]
fn the_journal_of_an_echoing_run_leaks_nothing() {
    let server = Server::start(config());
    // A vendor that never answers keeps the run going once every echo is journaled.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow = format!("http://{}", silent.local_addr().unwrap());
    let t = test(&server, Some(&slow));
    let mut child = t.spawn(&["apply", "--yes"]);
    // Read as it comes, so a full pipe never stalls the run.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let journal = loop {
        let text = std::fs::read_to_string(t.path(JOURNAL)).unwrap_or_default();
        if text.matches("\"status\":\"failed\"").count() == 10 {
            break text;
        }
        assert!(child.try_wait().unwrap().is_none(), "apply ended early");
        assert!(start.elapsed() < Duration::from_secs(60), "journal: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(journal.contains("ECHO"), "{journal}");
    let secrets = secrets(&server);
    for (name, text) in [
        ("journal", journal),
        ("stdout", stdout.join().unwrap()),
        ("stderr", stderr.join().unwrap()),
    ] {
        let found = leaks(&text, &secrets);
        assert!(found.is_empty(), "{name} leaks {found:?}:\n{text}");
    }
    drop(silent);
}
