//! A vendor account's settings as written under `vendors:` in roster.yaml.
//!
//! Each kind declares its own settings (URL, credentials) with [`settings!`] in
//! its driver's file, as a struct whose required keys are plain `Template`s;
//! the settings every kind has (limits, timeouts) are [`Common`], here. The
//! reader below reads a vendor's mapping straight from the parser: `kind:`
//! picks the kind's struct, so another kind's key, a missing key or a bad
//! value is an error that carries the file's line and column.

use super::{Kind, Settings};
use crate::model::de::{self, Check};
use crate::model::{Env, Template};
use serde::de::value::StringDeserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One configured vendor account.
#[derive(Clone, Debug)]
pub struct Vendor {
    pub name: String,
    pub config: VendorConfig,
    /// The file that defines it.
    pub file: PathBuf,
}

/// A vendor account's settings: its kind's own, and those every kind has.
#[derive(Clone, Debug)]
pub struct VendorConfig {
    pub settings: Settings,
    pub common: Common,
}

/// The settings every kind has; each is optional, with a default per kind.
#[derive(Clone, Debug, Default, schemars::JsonSchema)]
pub struct Common {
    #[schemars(range(min = 1))]
    pub batch_size: Option<usize>,
    #[schemars(range(min = 1))]
    pub concurrency: Option<usize>,
    /// Requests a second, minute or hour: `5/s`, `300/m`, `3000/h`.
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+/[smh]$"))]
    pub rate_limit: Option<RateLimit>,
    /// Per request: `30s`, `2m`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// How long after a creation was sent a vendor may still not list the new
    /// account (it is processing, or its search lags): within it, an unanswered
    /// creation that no lookup finds is looked up again rather than sent again,
    /// and a refresh does not take a fresh account for deleted. Default `30s`.
    #[schemars(with = "Option<String>")]
    pub verify_grace: Option<Duration>,
    /// The largest answer roster reads from this vendor, per response, counted
    /// as it arrives: `8MiB` (the default), `16MiB`, or bytes. A larger one is
    /// an error, never read whole.
    #[schemars(schema_with = "de::byte_size_schema")]
    pub max_response: Option<u64>,
    /// The longest wait this vendor may ask for (`Retry-After`, a spent rate
    /// limit's reset), and the longest it may hold one run waiting in all: `5m`
    /// (the default). Asked for longer, roster stops this vendor's work and
    /// says when a re-run can succeed.
    #[schemars(with = "Option<String>")]
    pub max_wait: Option<Duration>,
    /// Most accounts one listing of this vendor may hold (default 250000; a
    /// listing keeps at most 512 bytes of account text for each): a longer
    /// list, or a vendor that says its list is longer, is an error naming this
    /// setting, never read on.
    #[schemars(range(min = 1))]
    pub max_accounts: Option<usize>,
    /// Most pages one listing of this vendor may take (default 25000).
    #[schemars(range(min = 1))]
    pub max_pages: Option<usize>,
}

impl Common {
    /// Their keys.
    const KEYS: [&'static str; 9] = [
        "batch_size",
        "concurrency",
        "rate_limit",
        "timeout",
        "verify_grace",
        "max_response",
        "max_wait",
        "max_accounts",
        "max_pages",
    ];

    /// The default of `verify_grace`.
    pub const DEFAULT_VERIFY_GRACE: Duration = Duration::from_secs(30);

    /// `verify_grace`, or its default.
    pub fn grace(&self) -> Duration {
        self.verify_grace.unwrap_or(Self::DEFAULT_VERIFY_GRACE)
    }

    /// Reads the value of `key` from `map` if `key` is one of these settings
    /// (and says whether it was); a value is read at most once.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        fn put<T, E: serde::de::Error>(
            slot: &mut Option<T>,
            key: &str,
            value: Option<T>,
        ) -> Result<bool, E> {
            if slot.is_some() {
                return Err(E::custom(format_args!("duplicate field `{key}`")));
            }
            *slot = value;
            Ok(true)
        }
        match key {
            "batch_size" => put(&mut self.batch_size, key, map.next_value()?),
            "concurrency" => put(&mut self.concurrency, key, map.next_value()?),
            "rate_limit" => put(&mut self.rate_limit, key, map.next_value()?),
            "timeout" => put(&mut self.timeout, key, map.next_value::<Lapse>()?.0),
            "verify_grace" => put(&mut self.verify_grace, key, map.next_value::<Lapse>()?.0),
            "max_response" => put(&mut self.max_response, key, map.next_value::<Size>()?.0),
            "max_wait" => put(&mut self.max_wait, key, map.next_value::<Lapse>()?.0),
            "max_accounts" => put(&mut self.max_accounts, key, map.next_value()?),
            "max_pages" => put(&mut self.max_pages, key, map.next_value()?),
            _ => Ok(false),
        }
    }
}

/// A duration setting, read by [`de::duration`].
struct Lapse(Option<Duration>);

impl<'de> Deserialize<'de> for Lapse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::duration(d).map(Lapse)
    }
}

/// A size setting, read by [`de::byte_size`].
struct Size(Option<u64>);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::byte_size(d).map(Size)
    }
}

/// Keys of a vendor's settings that hold credentials.
const SECRET_KEYS: &[&str] = &[
    "token",
    "client_secret",
    "password",
    "api_token",
    "integration_key",
    "private_key",
];

impl VendorConfig {
    pub fn kind(&self) -> Kind {
        self.settings.kind()
    }

    /// The kind's own settings by key, in the order its struct declares them.
    pub fn templates(&self) -> Vec<(&'static str, Option<&Template>)> {
        self.settings.templates()
    }

    /// Whether `key` holds a credential, which the file must not spell out.
    /// DocuSign's integration key is its app's public client id, not one.
    pub fn is_secret(&self, key: &str) -> bool {
        SECRET_KEYS.contains(&key) && !(self.kind() == Kind::DocuSign && key == "integration_key")
    }
}

/// The value of the setting `key` with its variables substituted; an error
/// names what is unset, never a value.
pub fn resolve(key: &str, template: &Template, env: Env) -> anyhow::Result<String> {
    template.resolve(env).map_err(|missing| {
        anyhow::anyhow!(
            "`{key}` needs environment variable {} which is not set",
            missing.join(", ")
        )
    })
}

impl Check for VendorConfig {
    fn check(&self) -> Result<(), String> {
        let c = &self.common;
        if c.batch_size == Some(0) || c.concurrency == Some(0) {
            return Err("`batch_size` and `concurrency` must be at least 1".into());
        }
        if c.max_accounts == Some(0) || c.max_pages == Some(0) {
            return Err("`max_accounts` and `max_pages` must be at least 1".into());
        }
        for (key, template) in self.templates() {
            if let Some(t) = template.filter(|t| t.is_literal()) {
                super::check_setting(key, t.raw())?;
            }
        }
        self.settings.check(c)
    }
}

/// A kind's rules across its own settings (one way to authenticate, a key
/// that excludes another), checked at load once each key is read. Most kinds
/// have none.
pub trait Rules {
    fn check(&self, _common: &Common) -> Result<(), String> {
        Ok(())
    }
}

/// Declares a kind's own settings, in its driver's file: a struct of
/// `Template`s (a required key) and `Option<Template>`s, read with
/// `deny_unknown_fields`, and the list of them by key.
#[macro_export]
macro_rules! settings {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty),+
        }

        impl $name {
            /// Every setting by key, set or not, in the order declared.
            pub fn templates(&self) -> Vec<(&'static str, Option<&$crate::model::Template>)> {
                vec![$((stringify!($field), $crate::vendors::MaybeTemplate::get(&self.$field))),+]
            }
        }
    };
}

/// A setting's value, required or optional.
pub trait MaybeTemplate {
    fn get(&self) -> Option<&Template>;
}

impl MaybeTemplate for Template {
    fn get(&self) -> Option<&Template> {
        Some(self)
    }
}

impl MaybeTemplate for Option<Template> {
    fn get(&self) -> Option<&Template> {
        self.as_ref()
    }
}

impl<'de> Deserialize<'de> for VendorConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ConfigVisitor)
    }
}

struct ConfigVisitor;

impl<'de> Visitor<'de> for ConfigVisitor {
    type Value = VendorConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a vendor's settings: a mapping with `kind`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VendorConfig, A::Error> {
        let mut common = Common::default();
        // A kind's own keys written before `kind:`, held until it is known.
        let mut early = Vec::new();
        let mut seen = BTreeSet::new();
        let any_kind: Vec<&'static str> = Kind::ALL
            .iter()
            .flat_map(|k| k.setting_keys())
            .copied()
            .collect();
        let kind = loop {
            let key = Key {
                takes: &any_kind,
                kind: None,
                seen: &mut seen,
            };
            let Some(key) = map.next_key_seed(key)? else {
                return Err(A::Error::missing_field("kind"));
            };
            if key == "kind" {
                break map.next_value::<Kind>()?;
            }
            if !common.read(&key, &mut map)? {
                // Read now, so a bad value is refused at its line; every
                // kind's own setting is a template.
                early.push((key, map.next_value::<Template>()?.raw().to_string()));
            }
        };
        // The keys written before `kind:` that this kind does not take are
        // refused by its struct, at the mapping's line.
        seen.retain(|key| {
            Common::KEYS.contains(&key.as_str()) || kind.setting_keys().contains(&key.as_str())
        });
        let rest = Rest {
            map,
            kind,
            common: &mut common,
            seen,
            early: early.into_iter(),
            held: None,
        };
        let settings = kind.read_settings(rest).map_err(|e| e.at(kind))?;
        Ok(VendorConfig { settings, common })
    }
}

/// The rest of a vendor's mapping once `kind:` is read, as the kind's own
/// settings struct sees it: the common settings are taken out on the way.
struct Rest<'c, A> {
    map: A,
    kind: Kind,
    common: &'c mut Common,
    /// The kind's own keys read so far.
    seen: BTreeSet<String>,
    /// The keys written before `kind:`, with their templates as written.
    early: std::vec::IntoIter<(String, String)>,
    held: Option<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<'_, A> {
    type Error = Problem<A::Error>;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let key = match self.early.next() {
            Some((key, value)) => {
                self.held = Some(value);
                key
            }
            None => loop {
                let key = Key {
                    takes: self.kind.setting_keys(),
                    kind: Some(self.kind),
                    seen: &mut self.seen,
                };
                let Some(key) = self.map.next_key_seed(key).map_err(Problem::At)? else {
                    return Ok(None);
                };
                if key == "kind" {
                    return Err(Problem::At(A::Error::duplicate_field("kind")));
                }
                if !self.common.read(&key, &mut self.map).map_err(Problem::At)? {
                    break key;
                }
            },
        };
        seed.deserialize(StringDeserializer::new(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match self.held.take() {
            Some(raw) => seed.deserialize(StringDeserializer::new(raw)),
            None => self.map.next_value_seed(seed).map_err(Problem::At),
        }
    }
}

/// A key of a vendor's mapping, refused where it is written, so that the
/// error carries its line and column: one that is neither `kind`, a common
/// setting nor one `takes` holds, and one of `takes` given twice.
struct Key<'s> {
    takes: &'s [&'static str],
    /// The kind, once read.
    kind: Option<Kind>,
    seen: &'s mut BTreeSet<String>,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a setting's name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<String, E> {
        if key == "kind" {
            return Ok(key.to_string());
        }
        if key == "<<" {
            return Err(E::custom(
                "`<<` (a YAML merge key) is not read in a vendor's settings: write them out",
            ));
        }
        if !Common::KEYS.contains(&key) && !self.takes.contains(&key) {
            return Err(E::custom(match self.kind {
                Some(kind) => format!(
                    "`{key}` is not a setting of kind {kind}{} (it takes: {})",
                    crate::model::did_you_mean(key, self.takes.iter().copied()),
                    self.takes.join(", ")
                ),
                None => format!(
                    "`{key}` is not a setting of any vendor kind{}",
                    crate::model::did_you_mean(key, self.takes.iter().copied())
                ),
            }));
        }
        if !self.seen.insert(key.to_string()) {
            return Err(E::custom(format_args!("duplicate field `{key}`")));
        }
        Ok(key.to_string())
    }
}

/// The keys a `settings!` struct takes, asked of its `Deserialize` impl: it
/// names them when it asks for a struct.
pub fn setting_keys<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Ask<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Ask<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("asked"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Ask(&mut fields));
    fields
}

/// What went wrong reading a kind's own settings: the parser's error (with
/// its line and column), or one said in the kind's terms.
#[derive(Debug)]
enum Problem<E> {
    At(E),
    Unknown(String, &'static [&'static str]),
    Missing(&'static str),
    Said(String),
}

impl<E: serde::de::Error> Problem<E> {
    fn at(self, kind: Kind) -> E {
        match self {
            Problem::At(e) => e,
            Problem::Unknown(key, takes) => E::custom(format_args!(
                "`{key}` is not a setting of kind {kind} (it takes: {})",
                takes.join(", ")
            )),
            Problem::Missing(key) => E::custom(format_args!("kind {kind} needs `{key}`")),
            Problem::Said(why) => E::custom(why),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Problem<E> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Problem::At(e) => e.fmt(f),
            Problem::Unknown(key, _) => write!(f, "unknown setting `{key}`"),
            Problem::Missing(key) => write!(f, "missing setting `{key}`"),
            Problem::Said(why) => f.write_str(why),
        }
    }
}

impl<E: serde::de::Error> std::error::Error for Problem<E> {}

impl<E: serde::de::Error> serde::de::Error for Problem<E> {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Problem::Said(msg.to_string())
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Problem::Unknown(field.to_string(), expected)
    }

    fn missing_field(field: &'static str) -> Self {
        Problem::Missing(field)
    }
}

/// The JSON Schema: one object per kind, `kind` telling them apart, each
/// with its own settings and the common ones and nothing else.
impl schemars::JsonSchema for VendorConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VendorConfig".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let common = Common::json_schema(generator);
        let kinds: Vec<serde_json::Value> = Settings::schemas(generator)
            .into_iter()
            .map(|(kind, own)| {
                let mut properties = serde_json::Map::new();
                properties.insert("kind".into(), serde_json::json!({"const": kind.name()}));
                let mut required = vec![serde_json::json!("kind")];
                for schema in [&own, &common] {
                    if let Some(p) = schema.get("properties").and_then(|p| p.as_object()) {
                        properties.extend(p.clone());
                    }
                }
                if let Some(r) = own.get("required").and_then(|r| r.as_array()) {
                    required.extend(r.iter().cloned());
                }
                let mut object = serde_json::json!({
                    "title": format!("kind: {kind}"),
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                });
                if let Some(about) = own.get("description") {
                    object["description"] = about.clone();
                }
                object
            })
            .collect();
        schemars::json_schema!({
            "description": "A vendor account's settings: `kind`, the kind's own (URL, credentials) and those every kind has (limits, timeouts).",
            "type": "object",
            "properties": {"kind": generator.subschema_for::<Kind>()},
            "required": ["kind"],
            "oneOf": kinds,
        })
    }
}

/// A request rate: `5/s`, `300/m`, `3000/h`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

impl RateLimit {
    pub fn per_second(self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }
}

impl std::str::FromStr for RateLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid rate {s:?}: expected N/s, N/m or N/h, N at least 1");
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(RateLimit { count, per })
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::parsed(d, "a rate such as 5/s", |s| s.parse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<VendorConfig, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    /// `Common::KEYS` (what the key check lets through) and `Common::read`
    /// (what reads them) name the same settings.
    #[test]
    fn every_common_key_is_read() {
        let value = |key: &str| match key {
            "rate_limit" => "5/s",
            "timeout" | "verify_grace" | "max_wait" => "5s",
            "max_response" => "1MiB",
            _ => "3",
        };
        let yaml: String = Common::KEYS
            .iter()
            .map(|k| format!("{k}: {}\n", value(k)))
            .collect();
        let config = read(&format!("kind: scim\nbase_url: http://x\ntoken: t\n{yaml}")).unwrap();
        let c = config.common;
        assert_eq!(
            (c.batch_size, c.concurrency, c.max_accounts, c.max_pages),
            (Some(3), Some(3), Some(3), Some(3))
        );
        assert_eq!(
            (c.timeout, c.verify_grace, c.max_wait),
            (
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(5))
            )
        );
        assert_eq!(
            (c.max_response, c.rate_limit.map(RateLimit::per_second)),
            (Some(1 << 20), Some(5.0))
        );
    }

    #[test]
    fn the_kind_picks_which_keys_are_taken_wherever_it_is_written() {
        let first = read("kind: scim\nbase_url: http://x\ntoken: t\ntimeout: 5s").unwrap();
        let last = read("base_url: http://x\ntimeout: 5s\ntoken: t\nkind: scim").unwrap();
        for config in [first, last] {
            assert_eq!(config.kind(), Kind::Scim);
            assert_eq!(config.common.timeout, Some(Duration::from_secs(5)));
            let keys: Vec<_> = config
                .templates()
                .into_iter()
                .map(|(k, t)| (k, t.map(Template::raw)))
                .collect();
            assert_eq!(keys, [("base_url", Some("http://x")), ("token", Some("t"))]);
        }
        for (yaml, said) in [
            (
                "kind: scim\nbase_url: http://x\ntoken: t\napi_token: t",
                "`api_token` is not a setting of kind scim (it takes: base_url, token)",
            ),
            (
                "api_token: t\nkind: scim\nbase_url: http://x\ntoken: t",
                "`api_token` is not a setting of kind scim",
            ),
            ("kind: scim\nbase_url: http://x", "kind scim needs `token`"),
            ("base_url: http://x\ntoken: t", "missing field `kind`"),
            (
                "kind: scim\nbase_url: http://x\ntoken: t\nkind: acton",
                "duplicate field `kind`",
            ),
            (
                "kind: scim\nbase_url: http://x\ntoken: t\ntimeout: 1s\ntimeout: 2s",
                "duplicate field `timeout`",
            ),
            (
                "kind: scim\nbase_url: http://x\ntoken: t\ntoken: u",
                "duplicate field `token`",
            ),
            (
                "kind: scim\nbase_url: http://x\ntoken: t\ntimeout: 0s",
                "line 4 column 10",
            ),
            ("kind: scim\nbase_url: [1]\ntoken: t", "line 2 column 11"),
            (
                "kind: nope\nbase_url: http://x",
                "unknown vendor kind `nope`",
            ),
        ] {
            let err = read(yaml).unwrap_err();
            assert!(err.contains(said), "{yaml}: {err}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!("5/s".parse::<RateLimit>().unwrap().per_second(), 5.0);
        assert_eq!(
            "3000/h".parse::<RateLimit>().unwrap().per_second(),
            3000.0 / 3600.0
        );
        for bad in ["5", "0/s", "x/s", "5/d", "-1/s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }
}
