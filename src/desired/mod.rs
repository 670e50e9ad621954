//! The desired state: which users must exist in which vendor accounts, loaded from
//! roster.yaml (one file or a folder of them), interpolated and validated.

pub mod emit;
mod interpolate;
mod load;
mod merge;
pub mod yaml;

pub use interpolate::{process_env, Env, Template};
pub use load::{load, load_str};
pub use merge::Merge;
pub use yaml::{RateLimit, Safety, VendorConfig};

use crate::secret::is_hidden;
use crate::vendors::AccountBlock;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The JSON Schema of roster.yaml, pretty-printed with a trailing newline.
pub fn schema() -> String {
    let mut schema = schemars::schema_for!(yaml::Document<yaml::Blocks>);
    schema.insert("title".into(), "roster.yaml".into());
    schema.insert(
        "description".into(),
        "The desired state of roster: vendor accounts, roles and users (format version 1).".into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The one form of an email that roster keys on, sends and compares, everywhere:
/// surrounding white space trimmed, lower-cased (Unicode-aware, so `Ö` is `ö`),
/// then Unicode NFC (so a precomposed `ö` and `o` + combining diaeresis are one
/// letter). Two emails are the same user exactly when their identities are equal.
///
/// A character that is not ASCII but would become ASCII by lower-casing or
/// normalising (the Kelvin sign U+212A lower-cases to `k`, and NFC turns it into
/// `K`) is kept as it is: a name that equals an email only once such a character
/// is folded is a look-alike (see [`lookalike`]), never the same user.
pub fn identity(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    // ASCII whitespace only: a vendor's name padded with a non-ASCII space
    // (U+3000, U+00A0) is not this email but a look-alike of it.
    let email = email.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut out = String::with_capacity(email.len());
    // Runs between such characters are lower-cased as strings, not character
    // by character, so that context rules (a final sigma) apply as before.
    let mut from = 0;
    for (at, c) in email.char_indices().filter(|&(_, c)| folds_into_ascii(c)) {
        out.extend(email[from..at].to_lowercase().nfc());
        out.push(c);
        from = at + c.len_utf8();
    }
    out.extend(email[from..].to_lowercase().nfc());
    out
}

/// Whether `c` is not ASCII but lower-casing or compatibility normalisation
/// (NFKC) turns it into something with ASCII in it: the Kelvin sign (`k`), the
/// long s (`s`), fullwidth forms, ligatures such as `ﬁ`.
pub fn folds_into_ascii(c: char) -> bool {
    use unicode_normalization::UnicodeNormalization;
    !c.is_ascii()
        && (c.to_lowercase().any(|l| l.is_ascii())
            || std::iter::once(c).nfkc().any(|n| n.is_ascii()))
}

/// `text` with every non-ASCII character shown as its code point (`\u{212a}`),
/// so that a look-alike reads differently from what it imitates.
pub fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

/// The form of an identity with every look-alike folded: compatibility
/// normalised (NFKC) and lower-cased, twice, so that folding cannot reveal more
/// to fold, without invisible characters and trimmed of the spaces folding
/// gave. Two identities with the same skeleton look alike.
pub fn skeleton(identity: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let visible: String = identity.chars().filter(|&c| !is_hidden(c)).collect();
    let once: String = visible.nfkc().flat_map(char::to_lowercase).collect();
    let twice: String = once.nfkc().flat_map(char::to_lowercase).collect();
    twice.trim().to_string()
}

/// Whether `name` holds a character that lets it imitate another name: one
/// that folds into ASCII, or an invisible one. Only such a name can be a
/// look-alike.
pub fn may_imitate(name: &str) -> bool {
    name.chars().any(|c| folds_into_ascii(c) || is_hidden(c))
}

/// Whether the identity `theirs` (a vendor's name) equals `ours` (a desired
/// identity) only once a non-ASCII character is folded into ASCII or an
/// invisible one dropped: a look-alike, reported and never matched.
pub fn lookalike(theirs: &str, ours: &str) -> bool {
    theirs != ours && may_imitate(theirs) && skeleton(theirs) == skeleton(ours)
}

/// Refuses an email (or a name given as an identity) that holds a character
/// which imitates ASCII: written so in roster.yaml it is a look-alike of the
/// ASCII address, and no vendor account could be matched to it safely.
pub fn check_identity(what: &str, text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|&c| is_hidden(c)) {
        return Err(format!(
            "{what} {:?} holds U+{:04X}, an invisible character: write it in plain ASCII (a look-alike is never matched to an account)",
            escaped(text),
            c as u32,
        ));
    }
    match text.chars().find(|&c| folds_into_ascii(c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "{what} {:?} holds U+{:04X}, a character that imitates ASCII {:?}: write it in plain ASCII (a look-alike is never matched to an account)",
            escaped(text),
            c as u32,
            skeleton(&c.to_string())
        )),
    }
}

/// Everything roster.yaml asks for.
#[derive(Debug, Default)]
pub struct Desired {
    /// Configured vendor accounts by name.
    pub vendors: BTreeMap<String, Vendor>,
    /// Users by their email's [`identity`], which is what they are in every vendor.
    pub users: BTreeMap<String, User>,
    /// Things worth saying that don't stop a plan (unset variables, literal secrets).
    pub warnings: Vec<String>,
    /// A hash of every input file, so a saved plan can tell the input changed.
    pub digest: String,
    /// The `safety:` limits, as written (flags may override them).
    pub safety: Safety,
}

/// One configured vendor account.
#[derive(Clone, Debug)]
pub struct Vendor {
    pub name: String,
    pub config: VendorConfig,
    /// The file that defines it.
    pub file: PathBuf,
}

/// A person's details, the same in every vendor. Fields are in alphabetical order
/// so that serializing it gives canonical JSON (see [`fingerprint`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// How a user's initial password is chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum Password {
    /// Random and policy-compliant, made at apply time, never stored.
    Generate,
    Template(Template),
}

#[derive(Clone, Debug)]
pub struct User {
    pub profile: Profile,
    pub password: Option<Password>,
    /// Accounts by vendor name, roles merged in.
    pub accounts: BTreeMap<String, Account>,
}

/// One user's account in one vendor.
#[derive(Clone, Debug)]
pub struct Account {
    pub block: AccountBlock,
    /// Fingerprint of the non-secret spec (see [`Spec`]).
    pub fingerprint: String,
}

/// The non-secret payload of one account: the person's details and the account
/// block, `{"account": {...}, "email": ..., ...}`. It is what is recorded in the
/// state, diffed to show drift, and fingerprinted.
#[derive(Serialize)]
pub struct Spec<'a> {
    // "account" sorts before every profile field, so the output stays canonical.
    pub account: &'a AccountBlock,
    #[serde(flatten)]
    pub profile: &'a Profile,
}

impl Account {
    pub fn new(profile: &Profile, block: AccountBlock) -> Account {
        let fingerprint = fingerprint(&Spec {
            account: &block,
            profile,
        });
        Account { block, fingerprint }
    }

    /// The spec of this account for `profile` (its user's).
    pub fn spec_of<'a>(&'a self, profile: &'a Profile) -> Spec<'a> {
        Spec {
            account: &self.block,
            profile,
        }
    }

    /// The spec as data, for drift diffs.
    pub fn spec(&self, profile: &Profile) -> serde_json::Value {
        serde_json::to_value(self.spec_of(profile)).unwrap_or_default()
    }
}

/// `sha256:<hex>` of a value's canonical JSON: compact, object keys sorted.
/// Specs serialize canonically by construction (their fields are declared in
/// alphabetical order; a test checks every kind), so the JSON streams straight
/// into the hash.
pub fn fingerprint(spec: &impl Serialize) -> String {
    /// Feeds the JSON into the hash without building the string.
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    // Writing into a sink that cannot fail cannot fail.
    let _ = serde_json::to_writer(&mut hashing, spec);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    out.push_str(&hex(&hashing.0.finalize()));
    out
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of every kind set, so a field declared out of order shows.
    const FULL: &str = r#"
version: 1
vendors:
  a: { kind: acton, base_url: "http://x", token: t }
  b: { kind: activeplatform, base_url: "http://x", api_token: t }
  c: { kind: docusign, base_url: "http://x", account_id: x, token: t }
  d: { kind: formsonfire, base_url: "http://x", company_id: 1, integration_key: k }
  e: { kind: scim, base_url: "http://x", token: t }
users:
  - email: Full@Example.com
    first_name: F
    last_name: L
    middle_name: M
    title: T
    phone: "1"
    mobile: "2"
    fax: "3"
    time_zone: PT
    password: generate
    accounts:
      a:
        user_type: Sales
        send_email_confirmation: true
        marketing: { launch: true, admin: false }
        contact_lists: { create: true, delete: false, download: true }
        content: { create: true, delete: true }
        programs: { create: false, delete: true }
        account_wide_email: { view: true, manage: false }
      b: { custom_attributes: { z: "1", a: "2" } }
      c:
        user_name: U
        permission_profile_id: "1"
        group_ids: ["g"]
        company: C
        job_title: J
        settings: { z: 1, a: { y: 2, b: 3 } }
      d:
        website_role: Admin
        external_id: E
        groups: ["0f6d8e4b-1111-4222-8333-944455556666"]
        folders: ["0f6d8e4b-1111-4222-8333-944455556667"]
        do_not_email: true
        time_zone: UTC
      e: { user_name: u, external_id: e, active: false }
"#;

    #[test]
    fn one_identity_per_email() {
        let precomposed = "\u{d6}laf.M\u{fc}ller@Example.com";
        let decomposed = "O\u{308}laf.Mu\u{308}ller@example.COM";
        assert_eq!(identity(precomposed), "\u{f6}laf.m\u{fc}ller@example.com");
        assert_eq!(identity(precomposed), identity(decomposed));
        assert_eq!(identity("  A@B.io "), "a@b.io");
        assert_ne!(identity("a@b.io"), identity("a.@b.io"));
        // Lower-cased as a string: a final capital sigma is a final sigma.
        assert_eq!(
            identity("\u{39f}\u{394}\u{3a5}\u{3a3}@x.gr"),
            "\u{3bf}\u{3b4}\u{3c5}\u{3c2}@x.gr"
        );
    }

    #[test]
    fn a_name_that_matches_only_once_folded_into_ascii_is_a_lookalike() {
        let ascii = identity("kate@example.com");
        // (vendor's name, look-alike of kate@example.com)
        let cases = [
            ("\u{212a}ATE@example.com", true), // Kelvin sign
            ("\u{212a}ate@example.com", true),
            ("\u{ff4b}ate@example.com", true),  // fullwidth k
            ("kate@ex\u{ff41}mple.com", true),  // fullwidth a
            ("kate@example.com\u{3000}", true), // padded with an ideographic space
            ("\u{a0}kate@example.com", true),   // or a no-break space
            ("ka\u{200b}te@example.com", true), // a zero-width space inside
            (" kate@example.com\t", false),     // ASCII spaces are trimmed: the same user
            ("KATE@EXAMPLE.COM", false),        // the same user
            ("kate@example.com", false),
            ("kat\u{e9}@example.com", false), // another user
            ("mate@example.com", false),
        ];
        for (theirs, look) in cases {
            let id = identity(theirs);
            assert_eq!(lookalike(&id, &ascii), look, "{}", escaped(theirs));
            if look {
                assert_ne!(id, ascii, "{} matched", escaped(theirs));
            }
        }
        let long_s = identity("\u{17f}am@example.com");
        assert_ne!(long_s, identity("sam@example.com"));
        assert!(lookalike(&long_s, &identity("sam@example.com")));
        // Legitimate non-ASCII letters are neither folded nor look-alikes.
        assert!(!folds_into_ascii('\u{f6}'));
        assert!(!folds_into_ascii('\u{e9}'));
        assert!(folds_into_ascii('\u{212a}'));
        assert!(folds_into_ascii('\u{17f}'));
        assert_eq!(escaped("\u{212a}ate@x.io"), "\\u{212a}ate@x.io");
        assert!(check_identity("email", "kate@x.io").is_ok());
        let e = check_identity("email", "ka\u{200b}te@x.io").unwrap_err();
        assert!(e.contains("U+200B, an invisible character"), "{e}");
        let e = check_identity("email", "\u{212a}ate@x.io").unwrap_err();
        assert!(
            e.contains("U+212A") && e.contains("\\u{212a}ate@x.io"),
            "{e}"
        );
    }

    #[test]
    fn specs_serialize_canonically_so_fingerprints_need_no_sorting() {
        let d = load_str("full.yaml", FULL, &|_| None).unwrap();
        let user = &d.users["full@example.com"];
        assert_eq!(user.accounts.len(), 5);
        for (name, account) in &user.accounts {
            let spec = Spec {
                account: &account.block,
                profile: &user.profile,
            };
            let streamed = serde_json::to_string(&spec).unwrap();
            let sorted = account.spec(&user.profile).to_string();
            assert_eq!(
                streamed, sorted,
                "vendor {name}: fields out of alphabetical order"
            );
            assert_eq!(
                account.fingerprint,
                fingerprint(&account.spec(&user.profile))
            );
        }
    }
}
