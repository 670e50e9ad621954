//! The desired state: which users must exist in which vendor accounts, loaded from
//! roster.yaml (one file or a folder of them), interpolated and validated.

mod interpolate;
mod load;
pub mod yaml;

pub use interpolate::{process_env, Env, Template};
pub use load::{load, load_str};
pub use yaml::{RateLimit, VendorConfig};

use crate::vendors::AccountBlock;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything roster.yaml asks for.
#[derive(Debug, Default)]
pub struct Desired {
    /// Configured vendor accounts by name.
    pub vendors: BTreeMap<String, Vendor>,
    /// Users by lower-cased email, their identity in every vendor.
    pub users: BTreeMap<String, User>,
    /// Things worth saying that don't stop a plan (unset variables, literal secrets).
    pub warnings: Vec<String>,
    /// A hash of every input file, so a saved plan can tell the input changed.
    pub digest: String,
}

/// One configured vendor account.
#[derive(Clone, Debug)]
pub struct Vendor {
    pub name: String,
    pub config: VendorConfig,
    /// The file that defines it.
    pub file: PathBuf,
}

/// A person's details, the same in every vendor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
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
    /// The non-secret payload: what is recorded, diffed and fingerprinted.
    pub spec: serde_json::Value,
    pub fingerprint: String,
}

impl Account {
    pub fn new(profile: &Profile, block: AccountBlock) -> Account {
        let mut spec = serde_json::to_value(profile).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut spec {
            map.insert("account".into(), block.to_json());
        }
        let fingerprint = fingerprint(&spec);
        Account {
            block,
            spec,
            fingerprint,
        }
    }
}

/// `sha256:<hex>` of a value's compact JSON (object keys are sorted).
pub fn fingerprint(spec: &serde_json::Value) -> String {
    /// Feeds the JSON straight into the hash, without building the string.
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
    // Writing a Value into a sink that cannot fail cannot fail.
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
