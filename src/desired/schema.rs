//! What roster.yaml holds, as typed structures: one file's [`Document`], its
//! `safety:` limits, its user entries and account blocks, and the JSON Schema
//! they make (`roster schema`). The deserialisers here refuse a key given twice
//! and check each vendor and user entry on the spot, so a problem carries the
//! line it is on.

use super::reading::Place;
use super::reading::{enter, known_kind, note_vendors};
use crate::model::de::{percent, Check};
use crate::model::Template;
use crate::vendors::{AccountBlock, Kind, VendorConfig};
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// The JSON Schema of roster.yaml, pretty-printed with a trailing newline.
pub fn schema() -> String {
    let mut schema = schemars::schema_for!(Document<Blocks>);
    schema.insert("title".into(), "roster.yaml".into());
    schema.insert(
        "description".into(),
        "The desired state of roster: vendor accounts, roles and users (format version 1).".into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// One file of roster.yaml. `B` is how account blocks are read: [`Blocks`] for
/// loading, [`CheckedBlocks`](super::yaml::CheckedBlocks) to place an error (see
/// [`locate`](super::yaml::locate)).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "B: DeserializeOwned + Default")
)]
#[schemars(rename = "roster.yaml", bound = "B: schemars::JsonSchema + Default")]
pub struct Document<B> {
    /// The format version: 1. At least one file of a folder states it.
    pub version: Option<u64>,
    /// Named vendor accounts; users are assigned to these names.
    #[serde(default, deserialize_with = "vendors")]
    pub vendors: BTreeMap<String, Checked<VendorConfig>>,
    /// Reusable account blocks per vendor name; a user's own block overrides them.
    #[serde(default, deserialize_with = "roles")]
    pub roles: BTreeMap<String, B>,
    /// The people who must have accounts.
    #[serde(default, deserialize_with = "users")]
    pub users: Vec<Checked<UserEntry<B>>>,
    /// Limits on how much one apply may create before it needs --force.
    pub safety: Option<Safety>,
}

/// Apply refuses to create more than this unless forced; a refresh refuses to
/// mark more than this gone at one vendor unless accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    /// Most accounts one apply may create.
    pub max_create: Option<usize>,
    /// Most accounts one apply may create, as a percentage of the accounts the
    /// state holds (default 30).
    #[serde(default, deserialize_with = "percent")]
    #[schemars(range(min = 0))]
    pub max_create_percent: Option<f64>,
    /// The percentages apply only once the state holds this many accounts
    /// (default 10; for `max_gone_percent`, at that vendor), so a first apply
    /// is never refused for it.
    pub min_existing: Option<usize>,
    /// Most of a vendor's recorded accounts one refresh may mark `gone`, as a
    /// percentage (default 20): a list that suddenly lacks more is taken for a
    /// bad read, and that vendor's records are kept until `--accept-gone`.
    #[serde(default, deserialize_with = "percent")]
    #[schemars(range(min = 0))]
    pub max_gone_percent: Option<f64>,
}

/// One entry of `users:`, as written.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "B: DeserializeOwned + Default")
)]
#[schemars(bound = "B: schemars::JsonSchema + Default")]
pub struct UserEntry<B> {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub fax: Option<String>,
    pub time_zone: Option<String>,
    /// `generate` (random, policy-compliant, never stored) or ${VAR}.
    pub password: Option<Template>,
    /// Role names; their blocks are merged in this order, under the user's own.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Account blocks by vendor name.
    #[serde(default)]
    pub accounts: B,
}

impl<B: DeserializeOwned + Default> Check for UserEntry<B> {
    fn check(&self) -> Result<(), String> {
        let email = self.email.trim();
        let valid = email == self.email
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.matches('@').count() == 1;
        if !valid {
            return Err(format!("invalid email {:?}", self.email));
        }
        for (key, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if value.trim().is_empty() {
                return Err(format!("`{key}` is empty"));
            }
        }
        Ok(())
    }
}

/// An account block as read: typed when its vendor's kind was known as the parser
/// reached it (the vendors were defined above, or in an earlier file), else kept
/// as a YAML value and typed once every file is read.
pub enum Block {
    Typed(AccountBlock),
    Raw(serde_yaml::Value),
}

/// Account blocks by vendor name.
#[derive(Default)]
pub struct Blocks(pub BTreeMap<String, Block>);

impl schemars::JsonSchema for Blocks {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Accounts".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut kinds = Kind::account_schemas(generator);
        kinds.push(schemars::json_schema!({ "type": "null" }));
        schemars::json_schema!({
            "description": "Account blocks by vendor name; each takes the fields of its vendor's kind.",
            "type": "object",
            "additionalProperties": { "anyOf": kinds },
        })
    }
}

impl<'de> Deserialize<'de> for Blocks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BlocksVisitor;
        impl<'de> Visitor<'de> for BlocksVisitor {
            type Value = Blocks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of vendor names to account blocks")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Blocks, E> {
                Ok(Blocks::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Blocks, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    if out.contains_key(&name) {
                        return Err(de::Error::custom(format!("`{name}` is given twice")));
                    }
                    let block = match known_kind(&name) {
                        Some(kind) => Block::Typed(kind.next_account(&mut map)?),
                        None => Block::Raw(map.next_value()?),
                    };
                    out.insert(name, block);
                }
                Ok(Blocks(out))
            }
        }
        d.deserialize_map(BlocksVisitor)
    }
}

/// `vendors:`, whose kinds then type the account blocks that follow.
fn vendors<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Checked<VendorConfig>>, D::Error> {
    let map: BTreeMap<String, Checked<VendorConfig>> = unique_map(d)?;
    note_vendors(map.iter().map(|(name, c)| (name.as_str(), c.0.kind())));
    Ok(map)
}

/// A `T` read from a mapping and checked on the spot.
pub struct Checked<T>(pub T);

impl<T: schemars::JsonSchema> schemars::JsonSchema for Checked<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<'de, T: DeserializeOwned + Check> Deserialize<'de> for Checked<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CheckedVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned + Check> Visitor<'de> for CheckedVisitor<T> {
            type Value = Checked<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Checked<T>, A::Error> {
                let value = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                value.check().map_err(de::Error::custom)?;
                Ok(Checked(value))
            }
        }
        d.deserialize_map(CheckedVisitor(PhantomData))
    }
}

/// A string-keyed map that refuses a key given twice (serde's own map keeps the last).
fn unique_map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    d.deserialize_map(UniqueVisitor(PhantomData, |_: &str| ()))
}

/// `roles:`, telling [`locate`](super::yaml::locate) which role it is in.
fn roles<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    d.deserialize_map(UniqueVisitor(PhantomData, |name: &str| {
        enter(|| Place::Role(name.to_string()))
    }))
}

/// `users:`, telling [`locate`](super::yaml::locate) which entry it is in.
fn users<'de, D, V>(d: D) -> Result<Vec<V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UsersVisitor<V>(PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for UsersVisitor<V> {
        type Value = Vec<V>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of users")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<V>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<V>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
            loop {
                let index = out.len();
                enter(|| Place::User(index));
                match seq.next_element()? {
                    Some(v) => out.push(v),
                    None => return Ok(out),
                }
            }
        }
    }
    d.deserialize_seq(UsersVisitor(PhantomData))
}

struct UniqueVisitor<V, F>(PhantomData<V>, F);

impl<'de, V: Deserialize<'de>, F: Fn(&str)> Visitor<'de> for UniqueVisitor<V, F> {
    type Value = BTreeMap<String, V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new()) // `key:` with nothing after it
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("`{key}` is given twice")));
            }
            (self.1)(&key);
            let value = map.next_value()?;
            out.insert(key, value);
        }
        Ok(out)
    }
}
