//! Property tests of the loader: whatever text it is given (random bytes, a valid
//! file with random edits, random YAML trees), it answers Ok or a clear Err, and
//! never panics.

use proptest::prelude::*;
use roster::desired::load_str;

fn no_env(_: &str) -> Option<String> {
    None
}

const VALID: &str = r#"version: 1
vendors:
  acton:
    kind: acton
    base_url: http://127.0.0.1:9/acton
    token: ${ACTON_TOKEN}
  forms:
    kind: formsonfire
    base_url: http://x/api/v2
    company_id: 42
    integration_key: ${K}
roles:
  admin:
    acton: { user_type: Marketing, marketing: { launch: true, admin: true } }
users:
  - email: a@example.com
    first_name: A
    last_name: B
    password: generate
    roles: [admin]
    accounts:
      acton: { send_email_confirmation: true }
      forms: { website_role: User, groups: ["0f6d8e4b-1111-4222-8333-944455556666"] }
"#;

/// Characters that matter to YAML and to roster's own syntax.
const SIGNIFICANT: &[char] = &[
    ':', '-', ' ', '\n', '\t', '{', '}', '[', ']', '"', '\'', '&', '*', '!', '|', '>', '#', '$',
    '%', '@', ',', '?', '\\', '\0', 'é',
];

fn check(text: &str) {
    // The property is that this returns at all; an Err must say something.
    if let Err(e) = load_str("fuzz.yaml", text, &no_env) {
        assert!(!format!("{e:#}").is_empty());
    }
}

fn yaml_value() -> impl Strategy<Value = serde_yaml::Value> {
    let leaf = prop_oneof![
        Just(serde_yaml::Value::Null),
        any::<bool>().prop_map(serde_yaml::Value::Bool),
        any::<i64>().prop_map(|n| serde_yaml::Value::Number(n.into())),
        "[a-z_${}@.:-]{0,12}".prop_map(serde_yaml::Value::String),
        prop::sample::select(vec![
            "version",
            "vendors",
            "roles",
            "users",
            "email",
            "kind",
            "acton",
            "scim",
            "docusign",
            "accounts",
            "user_type",
            "Marketing",
            "password",
            "generate",
            "${X}",
            "first_name",
            "last_name",
            "base_url",
            "token",
        ])
        .prop_map(|s| serde_yaml::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_yaml::Value::Sequence),
            prop::collection::vec((inner.clone(), inner), 0..6)
                .prop_map(|pairs| serde_yaml::Value::Mapping(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        check(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn edited_valid_files_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(SIGNIFICANT)), 1..6)) {
        let mut text: Vec<char> = VALID.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(text.len() + 1);
            match op {
                0 => text.insert(i, c),
                1 if i < text.len() => { text.remove(i); }
                _ if i < text.len() => text[i] = c,
                _ => text.push(c),
            }
        }
        check(&text.into_iter().collect::<String>());
    }

    #[test]
    fn random_yaml_trees_never_panic(value in yaml_value()) {
        if let Ok(text) = serde_yaml::to_string(&value) {
            check(&text);
            check(&format!("version: 1\nusers:\n  - {}", text.replace('\n', "\n    ")));
        }
    }
}

#[test]
fn the_valid_seed_loads() {
    let d = load_str("fuzz.yaml", VALID, &no_env).expect("the seed is valid");
    assert_eq!(d.users.len(), 1);
}
