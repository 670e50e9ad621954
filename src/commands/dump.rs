//! `roster dump --vendor NAME`: every account that vendor holds, printed as
//! roster.yaml `users:` entries (like `octodns-dump`), so a team can start from
//! today's reality. It reads the vendor's list and changes nothing; no secret is
//! in what it prints.

use super::{emit, load_desired, runtime, Input, EXIT_OK};
use crate::desired::process_env;
use crate::vendors::list::{self, Observed, Query};
use anyhow::{anyhow, bail};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub input: Input,
    /// The vendor whose accounts to print (a name from `vendors:`).
    #[arg(long = "vendor", value_name = "NAME")]
    pub vendor: String,
}

/// One `users:` entry, in roster.yaml's terms.
#[derive(Serialize)]
struct Entry<'a> {
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'static str>,
    accounts: BTreeMap<&'a str, &'a serde_json::Map<String, serde_json::Value>>,
}

pub fn exec(args: &DumpArgs) -> anyhow::Result<u8> {
    let desired = load_desired(&args.input)?;
    let name = args.vendor.as_str();
    let Some(vendor) = desired.vendors.get(name) else {
        bail!("--vendor {name}: no vendor of that name in the desired state");
    };
    let kind = vendor.config.kind;
    let driver = kind.connect(vendor, &process_env)?;
    if !driver.lists() {
        bail!("vendor `{name}` ({kind}) has no API to list its users, so there is nothing to dump");
    }
    let listing = runtime()?
        .block_on(list::all(driver.as_ref(), Query::All))
        .map_err(|e| anyhow!("cannot list the accounts of `{name}`: {e}"))?;
    // One entry per email: a live membership before a closed one.
    let mut by_email: BTreeMap<String, &Observed> = BTreeMap::new();
    let mut nameless = Vec::new();
    for o in &listing.items {
        let email = o
            .email
            .clone()
            .or_else(|| o.key.contains('@').then(|| o.key.clone()));
        let Some(email) = email else {
            nameless.push(o.remote_id.as_str());
            continue;
        };
        let keep = by_email.get(&email).is_none_or(|held| !held.live && o.live);
        if keep {
            by_email.insert(email, o);
        }
    }
    // Existing accounts never get this password; it only satisfies the
    // vendor's rule that a new account needs one.
    let password = kind.empty_account().password_policy().map(|_| "generate");
    let mut out = format!(
        "# roster dump --vendor {name}: {} account(s) held by `{name}` ({kind}).\n# Closed or inactive accounts are commented out.\nusers:\n",
        by_email.len()
    );
    let mut unnamed = 0;
    // What the vendor lists is text it sends, shown: every value passes the one
    // redaction gate before it is written out as YAML.
    let redactor = driver.redactor();
    let clean = |text: &str| redactor.redact(text);
    for (email, o) in &by_email {
        let (email, first_name, last_name) = (
            clean(email),
            clean(o.first_name.as_deref().unwrap_or("")),
            clean(o.last_name.as_deref().unwrap_or("")),
        );
        let mut block = serde_json::Value::Object(o.block.clone());
        redact_strings(&mut block, &clean);
        let block = match block {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        let entry = Entry {
            email: &email,
            first_name: &first_name,
            last_name: &last_name,
            password,
            accounts: BTreeMap::from([(name, &block)]),
        };
        if entry.first_name.is_empty() || entry.last_name.is_empty() {
            unnamed += 1;
        }
        let yaml = serde_yaml::to_string(&[entry])?;
        let prefix = if o.live {
            "  ".to_string()
        } else {
            // The vendor's words stay on the comment line: a line break in
            // them would start an entry that an import takes.
            out.push_str(&format!(
                "  # {} at the vendor (id {}):\n",
                one_line(&clean(o.status.as_deref().unwrap_or("inactive"))),
                one_line(&clean(&o.remote_id))
            ));
            "  # ".to_string()
        };
        for line in yaml.lines() {
            out.push_str(&prefix);
            out.push_str(line);
            out.push('\n');
        }
    }
    emit(&out);
    if unnamed > 0 {
        tracing::warn!("{unnamed} account(s) have no first or last name at the vendor: fill them in before use");
    }
    if !nameless.is_empty() {
        tracing::warn!(
            "{} account(s) have no email at the vendor and are left out (ids: {})",
            nameless.len(),
            one_line(&redactor.redact(&nameless.join(", ")))
        );
    }
    Ok(EXIT_OK)
}

/// `text` with its control characters (line breaks) shown escaped.
fn one_line(text: &str) -> String {
    if text.chars().any(char::is_control) {
        text.escape_debug().to_string()
    } else {
        text.to_string()
    }
}

/// Every string inside `value`, passed through `clean`.
fn redact_strings(value: &mut serde_json::Value, clean: &impl Fn(&str) -> String) {
    match value {
        serde_json::Value::String(s) => *s = clean(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_strings(v, clean)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact_strings(v, clean)),
        _ => {}
    }
}
