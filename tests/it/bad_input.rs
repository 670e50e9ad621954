//! A corpus of bad input: YAML syntax, schema, vendor rules, state and journal
//! corruption. Each must exit 1 with a message naming the problem and leave the
//! state file (and journal) byte-for-byte as they were.

use crate::support::Test;

const HEAD: &str = "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: http://127.0.0.1:9/acton\n    token: ${ACTON_TOKEN}\n";

const USER: &str = "users:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    password: generate\n    accounts:\n      acton: { user_type: Marketing }\n";

const STATE: &str = r#"{
  "lineage": "3f1c2a8e-0000-4000-8000-000000000001",
  "serial": 4,
  "vendors": {
    "acton": {
      "a@example.com": {
        "at": "2026-01-01T00:00:00Z",
        "fingerprint": "sha256:00",
        "remote_id": "a@example.com",
        "spec": {"email": "a@example.com"},
        "status": "created"
      }
    }
  },
  "version": 1
}
"#;

fn valid() -> String {
    format!("{HEAD}{USER}")
}

/// A user list item with `accounts.acton` set to `block`.
fn user_with(block: &str) -> String {
    USER.replace("{ user_type: Marketing }", block)
}

fn vendor(kind: &str, settings: &str, block: &str) -> String {
    format!(
        "version: 1\nvendors:\n  v:\n    kind: {kind}\n    {settings}\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    password: generate\n    accounts:\n      v: {block}\n"
    )
}

struct Case {
    name: &'static str,
    yaml: Vec<u8>,
    state: Option<Vec<u8>>,
    journal: Option<Vec<u8>>,
    lock: Option<String>,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    expect: &'static str,
}

fn case(name: &'static str, yaml: impl Into<Vec<u8>>, expect: &'static str) -> Case {
    Case {
        name,
        yaml: yaml.into(),
        state: Some(STATE.into()),
        journal: None,
        lock: None,
        args: &["validate"],
        env: &[("ACTON_TOKEN", "t0ken")],
        expect,
    }
}

impl Case {
    fn args(mut self, args: &'static [&'static str]) -> Case {
        self.args = args;
        self
    }
    fn state(mut self, state: impl Into<Vec<u8>>) -> Case {
        self.state = Some(state.into());
        self.args = &["apply", "--yes"];
        self
    }
    fn journal(mut self, journal: impl Into<Vec<u8>>) -> Case {
        self.journal = Some(journal.into());
        self.args = &["apply", "--yes"];
        self
    }
    /// No state file before (and none may appear).
    fn no_state(mut self) -> Case {
        self.state = None;
        self
    }
    fn env(mut self, env: &'static [(&'static str, &'static str)]) -> Case {
        self.env = env;
        self
    }
}

fn corpus() -> Vec<Case> {
    let deep_seq = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_map = format!("{}1{}", "{a: ".repeat(3000), "}".repeat(3000));
    // Ten levels of ten aliases: 10^10 nodes if expanded.
    let mut levels = vec!["&a0 [x, x, x, x, x, x, x, x, x, x]".to_string()];
    for i in 1..10 {
        levels.push(format!(
            "&a{i} [{}]",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    let bomb = format!("[{}]", levels.join(", "));
    // Where any value is allowed: DocuSign's `settings`, read typed in one pass...
    let in_settings = |value: &str| {
        vendor(
            "docusign",
            "base_url: http://x\n    account_id: a\n    token: t",
            &format!("{{ settings: {{ x: {value} }} }}"),
        )
    };
    // ...and a block whose vendor is defined below it, kept as a value until then.
    let before_vendor = |value: &str| {
        format!(
            "version: 1\n{}{}",
            user_with(value),
            HEAD.trim_start_matches("version: 1\n")
        )
    };
    vec![
        // YAML syntax
        case("tab indentation", format!("{HEAD}users:\n\t- email: a@example.com\n"), "cannot start any token"),
        case("unclosed flow mapping", format!("{HEAD}{}", user_with("{ user_type: Marketing")), "roster.yaml:14:1: did not find expected ',' or '}', while parsing a flow mapping at line 13"),
        case("unclosed quote", format!("{HEAD}users:\n  - email: \"a@example.com\n"), "roster.yaml:9:1: found unexpected end of stream, while scanning a quoted scalar"),
        case("duplicate top-level key", format!("{HEAD}version: 1\n{USER}"), "duplicate field `version`"),
        case("vendor given twice", format!("{HEAD}  acton:\n    kind: acton\n{USER}"), "`acton` is given twice"),
        case("two documents", format!("{}---\n{}", valid(), valid()), "more than one document"),
        case("empty file", "", "the file is empty"),
        case("only whitespace", "  \n\n   \n", "the file is empty"),
        case("only a comment", "# nothing here\n", "no file states `version: 1`"),
        case("not UTF-8", b"version: 1\nusers:\n  - email: \xff\xfe@example.com\n".to_vec(), "not UTF-8 text"),
        case("a list at the top", "- version: 1\n", "invalid type: sequence"),
        case("a scalar at the top", "hello\n", "invalid type: string"),
        case("alias bomb in settings", in_settings(&bomb), "repetition limit exceeded"),
        case("alias bomb before its vendor", before_vendor(&bomb), "repetition limit exceeded"),
        case("deep sequence in settings", in_settings(&deep_seq), "nested deeper than 64 levels"),
        case("deep sequence before its vendor", before_vendor(&deep_seq), "nested deeper than 64 levels"),
        case("deep mapping in settings", in_settings(&deep_map), "nested deeper than 64 levels"),
        case("deep mapping before its vendor", before_vendor(&deep_map), "nested deeper than 64 levels"),
        // schema
        case("users is a mapping", format!("{HEAD}users: {{a: 1}}\n"), "users: invalid type: map"),
        case("version is a word", "version: one\n", "version: invalid type: string"),
        case("version from the future", format!("version: 2\n{}", valid().trim_start_matches("version: 1\n")), "version 2 is not supported"),
        case("no version", valid().trim_start_matches("version: 1\n").to_string(), "no file states `version: 1`"),
        case("unknown top-level key", format!("{}colour: blue\n", valid()), "unknown field `colour`"),
        case("misspelt user key", format!("{HEAD}{}", USER.replace("first_name", "frist_name")), "unknown field `frist_name`"),
        case("missing last_name", format!("{HEAD}{}", USER.replace("    last_name: B\n", "")), "missing field `last_name`"),
        case("email without @", format!("{HEAD}{}", USER.replace("a@example.com", "a.example.com")), "invalid email"),
        case("email with a space", format!("{HEAD}{}", USER.replace("a@example.com", "a b@example.com")), "invalid email"),
        case("empty first name", format!("{HEAD}{}", USER.replace("first_name: A", "first_name: \"  \"")), "`first_name` is empty"),
        case("duplicate email", format!("{HEAD}{USER}{}", USER.replace("users:\n", "").replace("a@example", "A@example")), "is also given at"),
        case("unterminated variable", HEAD.replace("${ACTON_TOKEN}", "${ACTON_TOKEN") + USER, "unterminated `${`"),
        case("bad variable name", HEAD.replace("${ACTON_TOKEN}", "${1TOKEN}") + USER, "invalid variable name"),
        case("unknown role", format!("{HEAD}{}", USER.replace("password: generate", "password: generate\n    roles: [ghost]")), "unknown role `ghost`"),
        case("role names unknown vendor", format!("{HEAD}roles:\n  r:\n    nowhere: {{}}\n{USER}"), "roles.r.nowhere: unknown vendor `nowhere`"),
        case("account at unknown vendor", format!("{HEAD}{}", USER.replace("acton: {", "actn: {")), "unknown vendor `actn`"),
        // vendor settings
        case("unknown kind", HEAD.replace("kind: acton", "kind: salesforce") + USER, "unknown vendor kind `salesforce`"),
        case("missing base_url", HEAD.replace("    base_url: http://127.0.0.1:9/acton\n", "") + USER, "needs `base_url`"),
        case("another kind's setting", HEAD.replace("token:", "api_token:") + USER, "`api_token` is not a setting of kind acton"),
        case("batch_size zero", HEAD.to_string() + "    batch_size: 0\n" + USER, "must be at least 1"),
        case("bad rate limit", HEAD.to_string() + "    rate_limit: fast\n" + USER, "invalid rate \"fast\""),
        case("bad timeout", HEAD.to_string() + "    timeout: soon\n" + USER, "invalid duration \"soon\""),
        case("docusign batch over 500", vendor("docusign", "base_url: http://x\n    account_id: a\n    token: t\n    batch_size: 600", "{}"), "at most 500"),
        // vendor rules for users
        case("unknown account key", format!("{HEAD}{}", user_with("{ user_type: Marketing, admn: true }")), "unknown field `admn`"),
        case("acton without user_type", format!("{HEAD}{}", user_with("{}")), "`user_type` is required"),
        case("acton bad user_type", format!("{HEAD}{}", user_with("{ user_type: Admin }")), "unknown variant `Admin`"),
        case("acton password too short", format!("{HEAD}{}", USER.replace("password: generate", "password: abc")), "6-30 characters"),
        case("acton without password", format!("{HEAD}{}", USER.replace("    password: generate\n", "")), "needs a password"),
        case("acton privilege not a bool", format!("{HEAD}{}", user_with("{ user_type: Sales, content: { create: maybe } }")), "invalid type"),
        case("formsonfire bad role", vendor("formsonfire", "base_url: http://x\n    company_id: 1\n    integration_key: k", "{ website_role: Boss }"), "unknown variant `Boss`"),
        case("formsonfire long external id", vendor("formsonfire", "base_url: http://x\n    company_id: 1\n    integration_key: k", &format!("{{ external_id: {} }}", "x".repeat(51))), "over 50 characters"),
        case("formsonfire group not a GUID", vendor("formsonfire", "base_url: http://x\n    company_id: 1\n    integration_key: k", "{ groups: [g1] }"), "not a GUID"),
        case("docusign long first name", vendor("docusign", "base_url: http://x\n    account_id: a\n    token: t", "{}").replace("first_name: A", &format!("first_name: {}", "A".repeat(51))), "over DocuSign's 50 characters"),
        // state and journal
        case("state not JSON", valid(), "invalid JSON").state("{\"version\": 1,"),
        case("state from the future", valid(), "state format 7 is newer").state(STATE.replace("\"version\": 1", "\"version\": 7")),
        case("state without version", valid(), "no `version`").state("{\"serial\": 1}"),
        case("state with wrong types", valid(), "not a valid roster state file").state(STATE.replace("\"serial\": 4", "\"serial\": \"four\"")),
        case("state with an unknown field", valid(), "not a valid roster state file").state(STATE.replace("\"serial\": 4", "\"serial\": 4, \"owner\": \"me\"")),
        case("state with an unknown status", valid(), "not a valid roster state file").state(STATE.replace("\"created\"", "\"deleted\"")),
        case("empty state file", valid(), "invalid JSON").state(""),
        case("state not UTF-8", valid(), "invalid JSON").state(b"\xff\xfe{}".to_vec()),
        case("journal corrupt in the middle", valid(), "corrupt journal line").journal(
            "garbage\n{\"vendor\":\"acton\",\"email\":\"a@example.com\",\"record\":{\"status\":\"pending\",\"at\":\"x\",\"fingerprint\":\"f\",\"spec\":{}}}\n",
        ),
        case("journal with a wrong record", valid(), "corrupt journal line").journal(
            "{\"vendor\":\"acton\",\"email\":\"a@example.com\",\"record\":{\"status\":\"lost\"}}\n{}\n",
        ),
        // apply preconditions
        case("apply with a secret unset", valid(), "ACTON_TOKEN").args(&["apply", "--yes"]).env(&[]).no_state(),
        case("apply without --yes and no terminal", valid(), "pass --yes").args(&["apply"]).no_state(),
        case(
            "password from the environment breaks the policy",
            format!("{HEAD}{}", USER.replace("password: generate", "password: ${PW}")),
            "password must be 6-30 characters",
        )
        .args(&["apply", "--yes"])
        .env(&[("ACTON_TOKEN", "t0ken"), ("PW", "abc")])
        .no_state(),
        case("unknown --vendor", valid(), "--vendor nope").args(&["plan", "--vendor", "nope"]),
        case("unknown --user", valid(), "--user z@example.com").args(&["apply", "--yes", "--user", "z@example.com"]),
        Case {
            lock: Some(format!(
                "{{\"pid\": {}, \"host\": \"{}\", \"started\": \"2026-01-01T00:00:00Z\", \"command\": \"roster apply\"}}",
                std::process::id(),
                hostname()
            )),
            ..case("lock held by a live process", valid(), "the state is locked by pid").args(&["apply", "--yes"])
        },
    ]
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let corpus = corpus();
    assert!(corpus.len() >= 40, "the corpus has {} cases", corpus.len());
    let mut failures = Vec::new();
    for c in corpus {
        let mut t = Test::new();
        for (k, v) in c.env {
            t = t.env(k, v);
        }
        std::fs::write(t.path("roster.yaml"), &c.yaml).unwrap();
        std::fs::create_dir_all(t.path("state")).unwrap();
        let files = [
            ("state/roster.state.json", &c.state),
            ("state/roster.state.json.journal", &c.journal),
            (
                "state/roster.state.json.lock",
                &c.lock.as_ref().map(|l| l.as_bytes().to_vec()),
            ),
        ];
        for (path, bytes) in &files {
            if let Some(b) = bytes {
                std::fs::write(t.path(path), b).unwrap();
            }
        }
        // A live holder holds the OS lock on the file, as a running roster does.
        let _held = c.lock.as_ref().map(|_| {
            let f = std::fs::File::options()
                .read(true)
                .write(true)
                .open(t.path("state/roster.state.json.lock"))
                .unwrap();
            f.try_lock().unwrap();
            f
        });
        let run = t.run(c.args);
        let mut problems = Vec::new();
        if run.code != 1 {
            problems.push(format!("exit {} (want 1)", run.code));
        }
        if !run.stderr.contains(c.expect) {
            problems.push(format!("stderr lacks {:?}", c.expect));
        }
        if !run.stderr.starts_with("error: ") && !run.stderr.contains("\nerror: ") {
            problems.push("no `error:` line".into());
        }
        if run.stderr.contains("panicked") {
            problems.push("panicked".into());
        }
        for (path, bytes) in &files {
            let now = std::fs::read(t.path(path)).ok();
            if path.ends_with(".lock") {
                continue; // a held lock stays; none is left behind (checked below)
            }
            if now.as_ref() != bytes.as_ref() {
                problems.push(format!("{path} changed"));
            }
        }
        if c.lock.is_none() && t.lock_holder().is_some() {
            problems.push("a lock was left behind".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    stderr: {}",
                c.name,
                problems.join(", "),
                run.stderr.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
