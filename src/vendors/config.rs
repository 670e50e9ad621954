//! A vendor account's settings as written under `vendors:` in roster.yaml.
//! Which keys a kind needs or allows is the kind's own rule (`check_config` in
//! its driver).

use super::Kind;
use crate::model::de::{self, Check};
use crate::model::{Env, Template};
use serde::{Deserialize, Deserializer};
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

/// A vendor account's connection settings, as written. Which keys a kind needs or
/// allows is the kind's own rule (`check_config` in its driver).
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorConfig {
    pub kind: Kind,
    pub base_url: Option<Template>,
    pub token: Option<Template>,
    pub client_id: Option<Template>,
    pub client_secret: Option<Template>,
    pub username: Option<Template>,
    pub password: Option<Template>,
    pub api_token: Option<Template>,
    pub account_id: Option<Template>,
    pub company_id: Option<Template>,
    pub integration_key: Option<Template>,
    /// DocuSign's JWT grant: the user roster acts as (a GUID).
    pub user_id: Option<Template>,
    /// DocuSign's JWT grant: the RSA private key in PEM, from `${VAR}`.
    pub private_key: Option<Template>,
    /// DocuSign's JWT grant: a file holding the RSA private key in PEM.
    pub private_key_file: Option<Template>,
    /// DocuSign's JWT grant: the OAuth host (default https://account.docusign.com).
    pub oauth_base_url: Option<Template>,
    pub batch_size: Option<usize>,
    pub concurrency: Option<usize>,
    /// Requests a second, minute or hour: `5/s`, `300/m`, `3000/h`.
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]+/[smh]$"))]
    pub rate_limit: Option<RateLimit>,
    /// Per request: `30s`, `2m`.
    #[serde(default, deserialize_with = "de::duration")]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Duration>,
    /// How long after a creation was sent a vendor may still not list the new
    /// account (it is processing, or its search lags): within it, an unanswered
    /// creation that no lookup finds is looked up again rather than sent again,
    /// and a refresh does not take a fresh account for deleted. Default `30s`.
    #[serde(default, deserialize_with = "de::duration")]
    #[schemars(with = "Option<String>")]
    pub verify_grace: Option<Duration>,
    /// The largest answer roster reads from this vendor, per response, counted
    /// as it arrives: `8MiB` (the default), `16MiB`, or bytes. A larger one is
    /// an error, never read whole.
    #[serde(default, deserialize_with = "de::byte_size")]
    #[schemars(schema_with = "de::byte_size_schema")]
    pub max_response: Option<u64>,
    /// The longest wait this vendor may ask for (`Retry-After`, a spent rate
    /// limit's reset), and the longest it may hold one run waiting in all: `5m`
    /// (the default). Asked for longer, roster stops this vendor's work and
    /// says when a re-run can succeed.
    #[serde(default, deserialize_with = "de::duration")]
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

impl VendorConfig {
    /// The default of `verify_grace`.
    pub const DEFAULT_VERIFY_GRACE: Duration = Duration::from_secs(30);

    /// `verify_grace`, or its default.
    pub fn grace(&self) -> Duration {
        self.verify_grace.unwrap_or(Self::DEFAULT_VERIFY_GRACE)
    }
}

/// Keys of a vendor's settings that hold credentials.
pub const SECRET_KEYS: &[&str] = &[
    "token",
    "client_secret",
    "password",
    "api_token",
    "integration_key",
    "private_key",
];

impl VendorConfig {
    /// The templated settings by key, in a fixed order.
    pub fn templates(&self) -> [(&'static str, Option<&Template>); 14] {
        [
            ("base_url", self.base_url.as_ref()),
            ("token", self.token.as_ref()),
            ("client_id", self.client_id.as_ref()),
            ("client_secret", self.client_secret.as_ref()),
            ("username", self.username.as_ref()),
            ("password", self.password.as_ref()),
            ("api_token", self.api_token.as_ref()),
            ("account_id", self.account_id.as_ref()),
            ("company_id", self.company_id.as_ref()),
            ("integration_key", self.integration_key.as_ref()),
            ("user_id", self.user_id.as_ref()),
            ("private_key", self.private_key.as_ref()),
            ("private_key_file", self.private_key_file.as_ref()),
            ("oauth_base_url", self.oauth_base_url.as_ref()),
        ]
    }

    /// Whether `key` holds a credential, which the file must not spell out.
    /// DocuSign's integration key is its app's public client id, not one.
    pub fn is_secret(&self, key: &str) -> bool {
        SECRET_KEYS.contains(&key) && !(self.kind == Kind::DocuSign && key == "integration_key")
    }

    pub fn get(&self, key: &str) -> Option<&Template> {
        self.templates()
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, t)| t)
    }

    /// Errors unless every key in `keys` is set.
    pub fn require(&self, keys: &[&str]) -> Result<(), String> {
        match keys.iter().find(|k| self.get(k).is_none()) {
            Some(k) => Err(format!("kind {} needs `{k}`", self.kind)),
            None => Ok(()),
        }
    }

    /// Errors if a key outside `keys` is set (another kind's setting, probably).
    pub fn allow_only(&self, keys: &[&str]) -> Result<(), String> {
        match self
            .templates()
            .into_iter()
            .find(|(k, t)| t.is_some() && !keys.contains(k))
        {
            Some((k, _)) => Err(format!(
                "`{k}` is not a setting of kind {} (it takes: {})",
                self.kind,
                keys.join(", ")
            )),
            None => Ok(()),
        }
    }

    /// The value of `key` with its variables substituted; an error names what is unset.
    pub fn resolve(&self, key: &str, env: Env) -> anyhow::Result<String> {
        let template = self
            .get(key)
            .ok_or_else(|| anyhow::anyhow!("`{key}` is not set"))?;
        template.resolve(env).map_err(|missing| {
            anyhow::anyhow!(
                "`{key}` needs environment variable {} which is not set",
                missing.join(", ")
            )
        })
    }
}

impl Check for VendorConfig {
    fn check(&self) -> Result<(), String> {
        if self.batch_size == Some(0) || self.concurrency == Some(0) {
            return Err("`batch_size` and `concurrency` must be at least 1".into());
        }
        if self.max_accounts == Some(0) || self.max_pages == Some(0) {
            return Err("`max_accounts` and `max_pages` must be at least 1".into());
        }
        self.kind.check_config(self)
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
