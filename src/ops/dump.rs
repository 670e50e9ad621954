//! The dump workflow (`roster dump --vendor NAME`): every account that vendor holds, printed as
//! roster.yaml `users:` entries (like `octodns-dump`), so a team can start from
//! today's reality. It reads the vendor's list and changes nothing; no secret is
//! in what it prints, and nothing a vendor sends can add a line to it: every
//! value and key is written by the one YAML emitter (`desired::emit`).

use super::{load_desired, Context};
use crate::desired::emit as yaml;
use crate::secret::Redactor;
use crate::vendors::list::{self, Observed, Query};
use anyhow::{anyhow, bail};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The accounts vendor `name` holds as roster.yaml `users:` entries; what
/// needs a person's eye is logged as warnings.
pub fn run(ctx: &Context<'_>, file: &Path, name: &str) -> anyhow::Result<Dump> {
    let desired = load_desired(file, ctx.env)?;
    super::settings::check_vendor("--vendor", name, &desired, None)?;
    let vendor = &desired.vendors[name];
    let kind = vendor.config.kind();
    let driver = crate::vendors::connect(vendor, &crate::vendors::Context::new(ctx.env, None))?;
    if driver.lister().is_none() {
        bail!("vendor `{name}` ({kind}) has no API to list its users, so there is nothing to dump");
    }
    let listing = ctx
        .runtime
        .block_on(list::all(driver.as_ref(), Query::All))
        .map_err(|e| anyhow!("cannot list the accounts of `{name}`: {e}"))?;
    // Existing accounts never get this password; it only satisfies the
    // vendor's rule that a new account needs one.
    let password = kind.empty_account().password_policy().map(|_| "generate");
    let dump = render(
        name,
        kind.name(),
        password,
        &listing.items,
        driver.redactor(),
    );
    if dump.unnamed > 0 {
        tracing::warn!(
            "{} account(s) have no first or last name at the vendor: fill them in before use",
            dump.unnamed
        );
    }
    if !dump.shared.is_empty() {
        tracing::warn!(
            "{} account(s) give an email another account gives too and are commented out: pasted back, a user is bound to one account only (ids: {})",
            dump.shared.len(),
            driver.redactor().redact(&dump.shared.join(", "))
        );
    }
    if !dump.nameless.is_empty() {
        tracing::warn!(
            "{} account(s) have no email at the vendor and are left out (ids: {})",
            dump.nameless.len(),
            driver.redactor().redact(&dump.nameless.join(", "))
        );
    }
    Ok(dump)
}

/// What `dump` prints, and what it has to say about it.
pub struct Dump {
    pub text: String,
    /// Accounts printed without a first or last name.
    pub unnamed: usize,
    /// The ids of accounts left out for want of an email.
    pub nameless: Vec<String>,
    /// The ids of accounts printed commented out because another account
    /// gives the same email.
    pub shared: Vec<String>,
}

/// How one account is printed.
enum Entry {
    /// As a `users:` entry.
    Live,
    /// Commented out: closed or inactive at the vendor.
    Closed,
    /// Commented out: another account gives the same email, and a user is
    /// bound to one account only.
    Shared,
}

/// The `users:` entries of `items`, listed by vendor `name` of `kind`: one per
/// account, by the vendor's identity key (a live account before a closed one
/// under the same key, as roster matches them); closed ones commented out.
/// An email is never taken for an identity: where several accounts give one
/// email, the one keyed on that email is printed as usual and every other is
/// commented out with a note (all of them, where none is keyed on it), so
/// that pasted back no user is bound to another person's account. Every text
/// the vendor sent passes `redactor` (secrets out) and the YAML emitter (every
/// line break and control escaped), so that pasted into roster.yaml the output
/// holds exactly the vendor's data and nothing more.
pub fn render(
    name: &str,
    kind: &str,
    password: Option<&str>,
    items: &[Observed],
    redactor: &Redactor,
) -> Dump {
    let mut by_key: BTreeMap<&str, &Observed> = BTreeMap::new();
    for o in items {
        let keep = by_key
            .get(o.key.as_str())
            .is_none_or(|held| !held.live && o.live);
        if keep {
            by_key.insert(&o.key, o);
        }
    }
    // The names accounts are known by: an email that is another account's
    // name belongs to that account, whoever else gives it.
    let names: std::collections::BTreeSet<&str> = by_key.keys().copied().collect();
    let mut by_email: BTreeMap<String, Vec<&Observed>> = BTreeMap::new();
    let mut nameless = Vec::new();
    for o in by_key.into_values() {
        let email = o
            .email
            .clone()
            .or_else(|| o.key.contains('@').then(|| o.key.clone()));
        match email {
            Some(email) => by_email.entry(email).or_default().push(o),
            None => nameless.push(o.remote_id.clone()),
        }
    }
    let mut entries: Vec<(&str, &Observed, Entry)> = Vec::new();
    let mut shared = Vec::new();
    for (email, accounts) in &by_email {
        // The account keyed on the email; else a lone account, unless the
        // email is another account's name.
        let owner = accounts.iter().position(|o| o.key == *email).or_else(|| {
            (accounts.len() == 1 && !names.contains(crate::model::identity(email).as_str()))
                .then_some(0)
        });
        for (i, o) in accounts.iter().enumerate() {
            let how = if owner != Some(i) {
                shared.push(o.remote_id.clone());
                Entry::Shared
            } else if o.live {
                Entry::Live
            } else {
                Entry::Closed
            };
            entries.push((email, o, how));
        }
    }
    let mut out = format!(
        "{}\n{}\n{}\nusers:\n",
        yaml::comment(&format!(
            "roster dump --vendor {}: {} account(s) held by {} ({}).",
            yaml::scalar(name),
            entries.len(),
            yaml::scalar(name),
            kind
        )),
        yaml::comment("Closed or inactive accounts are commented out."),
        yaml::comment(
            "So is an account whose email another account gives: a user is bound to one account."
        )
    );
    let clean = |text: &str| redactor.redact_data(text);
    let mut unnamed = 0;
    for (email, o, how) in entries {
        let first_name = clean(o.first_name.as_deref().unwrap_or(""));
        let last_name = clean(o.last_name.as_deref().unwrap_or(""));
        if first_name.is_empty() || last_name.is_empty() {
            unnamed += 1;
        }
        let block = redact_value(&Value::Object(o.block.clone()), &clean);
        let accounts: Map<String, Value> = [(name.to_string(), block)].into_iter().collect();
        let mut fields = vec![
            ("email", Value::String(clean(email))),
            ("first_name", Value::String(first_name)),
            ("last_name", Value::String(last_name)),
        ];
        if let Some(p) = password {
            fields.push(("password", Value::String(p.into())));
        }
        fields.push(("accounts", Value::Object(accounts)));
        let entry = yaml::item(&fields, 0);
        let note = match how {
            Entry::Live => {
                for line in entry.lines() {
                    out.push_str("  ");
                    out.push_str(line);
                    out.push('\n');
                }
                continue;
            }
            Entry::Closed => format!(
                "{} at the vendor (id {}):",
                yaml::scalar(&clean(o.status.as_deref().unwrap_or("inactive"))),
                yaml::scalar(&clean(&o.remote_id))
            ),
            Entry::Shared => format!(
                "left out: account {} (id {}, {}) gives the email {} that another account gives too; uncomment it only if it is this person's own:",
                yaml::scalar(&clean(&o.key)),
                yaml::scalar(&clean(&o.remote_id)),
                yaml::scalar(&clean(o.status.as_deref().unwrap_or(if o.live {
                    "active"
                } else {
                    "inactive"
                }))),
                yaml::scalar(&clean(email))
            ),
        };
        // The emitter's only line break is `\n`: each line of the entry stays
        // in its comment.
        out.push_str("  ");
        out.push_str(&yaml::comment(&note));
        out.push('\n');
        for line in entry.lines() {
            out.push_str("  # ");
            out.push_str(line);
            out.push('\n');
        }
    }
    Dump {
        text: out,
        unnamed,
        nameless,
        shared,
    }
}

/// `value` with every string in it, keys too, passed through `clean`.
fn redact_value(value: &Value, clean: &impl Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(clean(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(v, clean)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (clean(k), redact_value(v, clean)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{identity, Password};
    use crate::vendors::AccountBlock;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Text a hostile vendor may send: YAML's line breaks and indicators,
    /// controls, and anything else.
    fn text() -> impl Strategy<Value = String> {
        let snippet = prop::sample::select(vec![
            "\u{2028}  - email: mallory@evil.com\u{2028}    password: generate\u{2028}    roles: [admin]",
            "\n  - email: mallory@evil.com\n    roles: [admin]\n",
            "\"\n  roles: [admin]\n#",
        ]);
        let piece = prop_oneof![
            4 => prop::collection::vec(crate::desired::emit::tests::hostile_char(), 0..12)
                .prop_map(|c| c.into_iter().collect::<String>()),
            1 => snippet.prop_map(str::to_string),
        ];
        prop::collection::vec(piece, 0..3).prop_map(|p| p.concat())
    }

    #[derive(Clone, Debug)]
    struct Account {
        first: String,
        last: String,
        attributes: BTreeMap<String, String>,
        live: bool,
        id: String,
        status: String,
    }

    fn account() -> impl Strategy<Value = Account> {
        (
            text(),
            text(),
            prop::collection::btree_map(text(), text(), 0..3),
            any::<bool>(),
            text(),
            text(),
        )
            .prop_map(|(first, last, attributes, live, id, status)| Account {
                first: format!("F{first}"),
                last: format!("L{last}"),
                attributes,
                live,
                id,
                status,
            })
    }

    fn observed(n: usize, a: &Account) -> Observed {
        let email = format!("u{n}@example.com");
        let mut block = Map::new();
        if !a.attributes.is_empty() {
            let attrs = a
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            block.insert("custom_attributes".into(), Value::Object(attrs));
        }
        Observed {
            key: email.clone(),
            email: Some(email),
            remote_id: a.id.clone(),
            live: a.live,
            status: Some(a.status.clone()),
            first_name: Some(a.first.clone()),
            last_name: Some(a.last.clone()),
            block,
        }
    }

    /// A SCIM account: keyed on `user_name`, giving `email`.
    fn scim(id: &str, user_name: &str, email: &str) -> Observed {
        let mut block = Map::new();
        if user_name != email {
            block.insert("user_name".into(), Value::String(user_name.into()));
        }
        Observed {
            key: user_name.into(),
            email: Some(email.into()),
            remote_id: id.into(),
            live: true,
            status: Some("active".into()),
            first_name: Some("Alice".into()),
            last_name: Some("A".into()),
            block,
        }
    }

    /// The users (email, user_name) a dump of `items` loads back as.
    fn loaded(items: &[Observed]) -> (Dump, Vec<(String, Value)>) {
        let dump = render("scim", "scim", None, items, &Redactor::default());
        let file = format!(
            "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: https://scim.example.com\n    token: t\n{}",
            dump.text
        );
        let desired = crate::desired::load_str("roster.yaml", &file, &|_| None)
            .unwrap_or_else(|e| panic!("{e:#}\n{file}"));
        let users = desired
            .users
            .iter()
            .map(|(email, u)| {
                let block = serde_json::to_value(&u.accounts["scim"].block).unwrap();
                (email.clone(), block["user_name"].clone())
            })
            .collect();
        (dump, users)
    }

    #[test]
    fn of_accounts_sharing_an_email_only_the_one_named_after_it_is_a_user() {
        let items = [
            scim("m-1", "mallory", "alice@example.com"),
            scim("a-1", "alice@example.com", "alice@example.com"),
        ];
        let (dump, users) = loaded(&items);
        assert_eq!(
            users,
            vec![("alice@example.com".to_string(), Value::Null)],
            "{}",
            dump.text
        );
        assert_eq!(dump.shared, vec!["m-1".to_string()]);
        assert!(
            dump.text.contains("  # - email: alice@example.com"),
            "{}",
            dump.text
        );
        assert!(dump.text.contains("user_name: mallory"), "{}", dump.text);
    }

    #[test]
    fn an_email_that_is_another_accounts_name_is_never_given_to_this_one() {
        // mallory gives alice's address; alice's own account gives another.
        let items = [
            scim("m-1", "mallory", "alice@example.com"),
            scim("a-1", "alice@example.com", "alice.personal@example.com"),
        ];
        let (dump, users) = loaded(&items);
        assert!(
            !users.iter().any(|(_, name)| name == "mallory"),
            "{}",
            dump.text
        );
        assert_eq!(dump.shared, vec!["m-1".to_string()]);
    }

    #[test]
    fn of_accounts_sharing_an_email_none_named_after_it_none_is_a_user() {
        let items = [
            scim("m-1", "mallory", "alice@example.com"),
            scim("a-1", "alice", "alice@example.com"),
            scim("b-1", "bob", "bob@example.com"),
        ];
        let (dump, users) = loaded(&items);
        assert_eq!(
            users,
            vec![("bob@example.com".to_string(), Value::String("bob".into()))],
            "{}",
            dump.text
        );
        assert_eq!(dump.shared, vec!["a-1".to_string(), "m-1".to_string()]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Pasted back into roster.yaml, a dump is exactly the vendor's live
        /// accounts: no other user, no other field, no role.
        #[test]
        fn a_dump_loads_back_as_exactly_the_vendors_accounts(
            accounts in prop::collection::vec(account(), 0..4)
        ) {
            let items: Vec<Observed> =
                accounts.iter().enumerate().map(|(n, a)| observed(n, a)).collect();
            let dump = render("ap", "activeplatform", Some("generate"), &items, &Redactor::default());
            let file = format!(
                "version: 1\nvendors:\n  ap:\n    kind: activeplatform\n    base_url: https://ap.example.com\n    api_token: ${{AP_TOKEN}}\nroles:\n  admin:\n    ap: {{ custom_attributes: {{ role: admin }} }}\n{}",
                dump.text
            );
            let desired = crate::desired::load_str("roster.yaml", &file, &|_| None)
                .map_err(|e| TestCaseError::fail(format!("{e:#}\n{file}")))?;
            let live: BTreeSet<String> = items
                .iter()
                .filter(|o| o.live)
                .map(|o| identity(o.email.as_deref().unwrap_or_default()))
                .collect();
            let loaded: BTreeSet<String> = desired.users.keys().cloned().collect();
            prop_assert_eq!(&loaded, &live, "{}", file);
            for (n, a) in accounts.iter().enumerate().filter(|(_, a)| a.live) {
                let user = &desired.users[&format!("u{n}@example.com")];
                prop_assert_eq!(&user.profile.first_name, &a.first);
                prop_assert_eq!(&user.profile.last_name, &a.last);
                prop_assert_eq!(&user.password, &Some(Password::Generate));
                let names: Vec<&String> = user.accounts.keys().collect();
                prop_assert_eq!(names, vec!["ap"]);
                let AccountBlock::ActivePlatform(block) = &user.accounts["ap"].block else {
                    return Err(TestCaseError::fail("not an ActivePlatform block"));
                };
                prop_assert_eq!(&block.custom_attributes, &a.attributes, "{}", file);
            }
        }
    }
}
