//! `roster validate`: what the loader accepts and how it says what it refuses.

use crate::support::{acton_user, acton_yaml, Test};

fn yaml(users: &str) -> String {
    acton_yaml("http://127.0.0.1:9", users)
}

#[test]
fn a_valid_file_passes_without_secrets() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &yaml(&(acton_user("a@example.com", "") + &acton_user("b@example.com", ""))),
    );
    let run = t.run(&["validate"]);
    run.code(0);
    assert!(
        run.stdout.contains("1 vendor(s), 2 user(s), 2 account(s)"),
        "{}",
        run.stdout
    );
    // ACTON_TOKEN is unset: a warning, not an error.
    assert!(run.stderr.contains("${ACTON_TOKEN}"), "{}", run.stderr);
}

#[test]
fn unknown_key_in_an_account_block_names_file_line_and_path() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &yaml(&acton_user("a@example.com", ", admn: true")),
    );
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("roster.yaml:18:")
            && run
                .stderr
                .contains("users[0].accounts.acton: unknown field `admn`"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let t = Test::new();
    let users = [
        acton_user("ok@example.com", ""),
        // invalid value for the vendor
        acton_user("type@example.com", "").replace("Marketing", "Marketer"),
        // a literal password outside the vendor's policy
        acton_user("pw@example.com", "").replace("password: generate", "password: \"no spaces allowed\""),
        // a role that does not exist
        "  - email: role@example.com\n    first_name: R\n    last_name: L\n    password: generate\n    roles: [ghost]\n".into(),
        // a vendor that does not exist
        "  - email: v@example.com\n    first_name: V\n    last_name: L\n    accounts:\n      nowhere: {}\n".into(),
        // no user_type, in the block or a role
        "  - email: nt@example.com\n    first_name: N\n    last_name: T\n    password: generate\n    accounts:\n      acton: {}\n".into(),
        // duplicate email, differently cased
        acton_user("OK@example.com", ""),
    ]
    .concat();
    t.write("roster.yaml", &yaml(&users));
    let run = t.run(&["validate"]);
    run.code(1);
    for needle in [
        "6 problems",
        "users[1].accounts.acton.user_type: unknown variant `Marketer`",
        "users[2].accounts.acton (pw@example.com): password may hold only letters",
        "users[3].roles[0]: unknown role `ghost`",
        "users[4].accounts.nowhere: unknown vendor `nowhere` (vendors: acton)",
        "users[5].accounts.acton (nt@example.com): `user_type` is required",
        "users[6]: email OK@example.com is also given at roster.yaml: users[0]",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?} in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("roster.yaml:24:"),
        "the bad user_type has its line: {}",
        run.stderr
    );
}

#[test]
fn a_folder_is_merged_and_duplicates_name_both_files() {
    let t = Test::new();
    let full = yaml(&acton_user("a@example.com", ""));
    t.write("conf/00-base.yaml", &full);
    t.write(
        "conf/10-more.yaml",
        &format!("users:\n{}", acton_user("b@example.com", "")),
    );
    t.run(&["validate", "-f", "conf"]).code(0);
    assert!(t
        .run(&["validate", "-f", "conf"])
        .stdout
        .contains("2 user(s)"));

    t.write(
        "conf/20-dup.yaml",
        &format!("users:\n{}", acton_user("A@example.com", "")),
    );
    let run = t.run(&["validate", "-f", "conf"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("20-dup.yaml: users[0]: email A@example.com is also given at")
            && run.stderr.contains("00-base.yaml: users[0]"),
        "{}",
        run.stderr
    );
}

#[test]
fn syntax_errors_and_wrong_types_have_line_and_column() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        "version: 1\nusers:\n  - email: [not, a, string]\n",
    );
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("roster.yaml:3:")
            && run.stderr.contains("users[0].email: invalid type"),
        "{}",
        run.stderr
    );

    t.write("roster.yaml", "version: 1\nvendors: {acton: {kind: acton\n");
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(run.stderr.contains("roster.yaml:"), "{}", run.stderr);
}

#[test]
fn literal_credentials_are_warned_about() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &yaml(&acton_user("a@example.com", "")).replace("${ACTON_TOKEN}", "tok-literal-123"),
    );
    let run = t.run(&["validate"]);
    run.code(0);
    assert!(
        run.stderr
            .contains("vendors.acton.token is a literal credential"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("tok-literal-123"),
        "the warning must not repeat the secret"
    );
}

#[test]
fn unknown_kind_and_missing_settings_are_refused() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        "version: 1\nvendors:\n  x:\n    kind: salesforce\n    base_url: http://x\n",
    );
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("roster.yaml:4:")
            && run.stderr.contains("unknown vendor kind `salesforce`"),
        "{}",
        run.stderr
    );

    t.write(
        "roster.yaml",
        "version: 1\nvendors:\n  x:\n    kind: acton\n    base_url: http://x\n",
    );
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("vendors.x: kind acton needs `token`"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_file_and_wrong_version_are_clear() {
    let t = Test::new();
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("cannot read roster.yaml"),
        "{}",
        run.stderr
    );

    t.write("roster.yaml", "version: 2\n");
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("version 2 is not supported"),
        "{}",
        run.stderr
    );
}

#[test]
fn vendors_defined_after_their_users_are_still_checked_with_lines() {
    let t = Test::new();
    let vendors = "vendors:\n  acton:\n    kind: acton\n    base_url: http://127.0.0.1:9/acton\n    token: ${ACTON_TOKEN}\n";
    // The users file sorts first, so its blocks are read before the vendor is known.
    t.write(
        "conf/a-users.yaml",
        &format!("version: 1\nusers:\n{}", acton_user("a@example.com", "")),
    );
    t.write("conf/b-vendors.yaml", vendors);
    let run = t.run(&["validate", "-f", "conf"]);
    run.code(0);
    let plan = t
        .run(&["plan", "-f", "conf", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(plan["summary"]["create"], 1);

    t.write(
        "conf/a-users.yaml",
        &format!(
            "version: 1\nusers:\n{}",
            acton_user("a@example.com", ", admn: 1")
        ),
    );
    let run = t.run(&["validate", "-f", "conf"]);
    run.code(1);
    assert!(
        run.stderr.contains("a-users.yaml:8:") && run.stderr.contains("unknown field `admn`"),
        "{}",
        run.stderr
    );
}

/// A misspelt name gets the known one most like it: a vendor flag, a vendor
/// or role in a user, another kind's or a mistyped setting. A name like none
/// gets no guess.
#[test]
fn a_misspelt_name_is_answered_with_the_closest_known_one() {
    let t = Test::new().env("SCIM_TOKEN", "tok");
    let file = |vendor: &str, user: &str| {
        format!("version: 1\nvendors:\n  okta-app:\n    kind: scim\n    base_url: http://127.0.0.1:9\n{vendor}roles:\n  admins:\n    okta-app: {{}}\nusers:\n  - email: a@x.io\n    first_name: A\n    last_name: B\n{user}")
    };
    let token = "    token: ${SCIM_TOKEN}\n";
    let accounts = "    accounts:\n      okta-app: {}\n";
    for (vendor, user, said) in [
        (
            token.to_string(),
            "    accounts:\n      octa-app: {}\n".to_string(),
            "unknown vendor `octa-app` (did you mean `okta-app`?)",
        ),
        (
            token.to_string(),
            format!("    roles: [admin]\n{accounts}"),
            "unknown role `admin` (did you mean `admins`?)",
        ),
        (
            "    tokn: ${SCIM_TOKEN}\n".to_string(),
            accounts.to_string(),
            "`tokn` is not a setting of kind scim (did you mean `token`?)",
        ),
        (
            token.to_string(),
            "    accounts:\n      zzz: {}\n".to_string(),
            "unknown vendor `zzz` (vendors: okta-app)",
        ),
    ] {
        t.write("roster.yaml", &file(&vendor, &user));
        let run = t.run(&["validate"]);
        run.code(1);
        assert!(run.stderr.contains(said), "{said}\n{}", run.stderr);
    }
    t.write("roster.yaml", &file(token, accounts));
    let run = t.run(&["plan", "--vendor", "octa-app"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "--vendor octa-app: no vendor of that name in the desired or recorded state (did you mean `okta-app`?)"
        ),
        "{}",
        run.stderr
    );
}
