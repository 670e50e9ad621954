//! One listed account, and the bounds of what roster keeps of it.

use serde_json::{Map, Value};

/// One account as the vendor holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// Its identity at this vendor, normalised (see `model::identity`): the
    /// email, or the vendor's own unique name where it has one (SCIM userName).
    pub key: String,
    /// Its email, normalised, where the vendor tells it.
    pub email: Option<String>,
    /// The vendor's id of it.
    pub remote_id: String,
    /// Whether the vendor holds it as a live account (not closed, inactive,
    /// disabled).
    pub live: bool,
    /// The vendor's own word for its status (`closed`, `active`, `inactive`).
    pub status: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The account block as far as the vendor shows it, in roster.yaml's terms
    /// (for `roster dump`); never a secret.
    pub block: Map<String, Value>,
}

/// The most bytes one listed account may hold in each field, and in all. A
/// value past its bound is an error, never cut short: a shortened id is
/// another account's id, a shortened name another person's name.
pub const MAX_ID: usize = 256;
/// A name, an email, a first or last name (an email is at most 254 bytes).
pub const MAX_NAME: usize = 320;
pub const MAX_STATUS: usize = 64;
/// One value (or name) of the account block.
pub const MAX_BLOCK_VALUE: usize = 1024;
/// The whole account (see `Observed::weight`).
pub const MAX_ACCOUNT: usize = 4096;
/// What one listing may keep in all, per account of `max_accounts`...
pub const BYTES_PER_ACCOUNT: usize = 512;
/// ... and at least this much, whatever `max_accounts` says.
pub const MIN_LISTING_BYTES: usize = 16 << 20;
/// What one entry of the account block costs beyond its text: an entry of one
/// letter is still an entry of a map.
const ENTRY_COST: usize = 32;

/// Where, in its JSON, a vendor that keys accounts on their email lists one.
pub struct Fields {
    pub email: &'static str,
    pub id: &'static str,
    pub status: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    /// Text fields copied into the account block: (the vendor's name, roster.yaml's).
    pub block: &'static [(&'static str, &'static str)],
}

impl Observed {
    /// One account of a vendor keyed on email, read by the vendor's `fields`;
    /// `None` without an email or an id. Live unless its status word says not.
    pub fn by_email(u: &Value, fields: &Fields) -> Option<Observed> {
        let email = crate::model::identity(u.get(fields.email)?.as_str()?);
        let status = text(u.get(fields.status));
        let block = fields
            .block
            .iter()
            .filter_map(|(theirs, ours)| {
                Some((ours.to_string(), Value::String(text(u.get(*theirs))?)))
            })
            .collect();
        Some(Observed {
            key: email.clone(),
            email: Some(email),
            remote_id: text(u.get(fields.id))?,
            live: !status.as_deref().is_some_and(inactive_word),
            status,
            first_name: text(u.get(fields.first_name)),
            last_name: text(u.get(fields.last_name)),
            block,
        })
    }
}

impl Observed {
    /// The bytes this account keeps: its text, and `ENTRY_COST` for each
    /// entry of its block.
    pub fn weight(&self) -> usize {
        let texts = [
            Some(&self.key),
            self.email.as_ref(),
            Some(&self.remote_id),
            self.status.as_ref(),
            self.first_name.as_ref(),
            self.last_name.as_ref(),
        ];
        texts.iter().flatten().map(|t| t.len()).sum::<usize>() + map_weight(&self.block)
    }

    /// The first field that holds more than its bound allows, as ("its name",
    /// its length, the bound); then the whole account against `MAX_ACCOUNT`.
    /// `show` makes a vendor's name of a block entry fit for a message.
    pub fn oversized(&self, show: &dyn Fn(&str) -> String) -> Option<(String, usize, usize)> {
        let fields = [
            ("id", Some(&self.remote_id), MAX_ID),
            ("name", Some(&self.key), MAX_NAME),
            ("email", self.email.as_ref(), MAX_NAME),
            ("first name", self.first_name.as_ref(), MAX_NAME),
            ("last name", self.last_name.as_ref(), MAX_NAME),
            ("status", self.status.as_ref(), MAX_STATUS),
        ];
        for (name, text, most) in fields {
            if let Some(text) = text.filter(|t| t.len() > most) {
                return Some((name.to_string(), text.len(), most));
            }
        }
        if let Some(found) = oversized_in(&self.block, "", show) {
            return Some(found);
        }
        let weight = self.weight();
        (weight > MAX_ACCOUNT).then(|| ("whole account".to_string(), weight, MAX_ACCOUNT))
    }
}

/// The bytes a block (or a map within it) keeps.
fn map_weight(map: &Map<String, Value>) -> usize {
    map.iter()
        .map(|(k, v)| ENTRY_COST + k.len() + value_weight(v))
        .sum()
}

fn value_weight(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Object(m) => map_weight(m),
        Value::Array(a) => a.iter().map(|v| ENTRY_COST + value_weight(v)).sum(),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// The first name or value in a block past `MAX_BLOCK_VALUE`, named by its
/// path (`custom_attributes.title`, its names clipped).
fn oversized_in(
    map: &Map<String, Value>,
    at: &str,
    show: &dyn Fn(&str) -> String,
) -> Option<(String, usize, usize)> {
    for (k, v) in map {
        let path = format!("{at}{}", show(k));
        if k.len() > MAX_BLOCK_VALUE {
            return Some((format!("block name `{path}`"), k.len(), MAX_BLOCK_VALUE));
        }
        let found = match v {
            Value::Object(m) => oversized_in(m, &format!("{path}."), show),
            _ => {
                let weight = value_weight(v);
                (weight > MAX_BLOCK_VALUE)
                    .then(|| (format!("block value `{path}`"), weight, MAX_BLOCK_VALUE))
            }
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// `text` escaped for a message, cut after `most` characters (with `…`):
/// redact it first, or a cut could leave half a secret unrecognised.
pub(super) fn clipped(text: &str, most: usize) -> String {
    let mut out = crate::model::escaped(&text.chars().take(most).collect::<String>());
    if text.chars().nth(most).is_some() {
        out.push('…');
    }
    out
}

/// The text of a JSON field that may be a string or a number (ids).
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A count a vendor may send as a number or a numeric string (DocuSign does).
pub fn count(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether a vendor's status word means the account is not live.
pub fn inactive_word(status: &str) -> bool {
    matches!(
        status.trim().to_ascii_lowercase().as_str(),
        "closed" | "inactive" | "disabled" | "deactivated" | "suspended" | "deleted" | "archived"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words() {
        for w in ["closed", "Inactive", " DISABLED "] {
            assert!(inactive_word(w), "{w}");
        }
        for w in ["active", "ActivationSent", "Invited", ""] {
            assert!(!inactive_word(w), "{w}");
        }
    }
}
