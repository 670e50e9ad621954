//! The desired state: which users must exist in which vendor accounts, loaded from
//! roster.yaml (one file or a folder of them), interpolated and validated.

mod check;
pub mod emit;
mod load;
mod prescan;
mod reading;
mod schema;
mod yaml;

pub use check::{check_resolved, Problems};
pub use load::{load, load_str};
pub use schema::{schema, Safety};

use crate::model::{fingerprint, Password, Profile};
use crate::vendors::{AccountBlock, Vendor};
use serde::Serialize;
use std::collections::BTreeMap;

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
