//! Connecting to vendors: the context a run gives every driver, the settings
//! every kind shares (checked, resolved, their `${VAR}` values redacted), and
//! the connection most drivers are made of.

use super::{Defaults, Driver, Http, Limits, Vendor, VendorConfig};
use crate::model::{Env, SharedBudget, Template};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a run gives every driver it connects: the environment its settings'
/// `${VAR}`s are read from, and the rate budget it shares with other runners
/// (the state in PostgreSQL gives one), which every request then spends too.
#[derive(Clone)]
pub struct Context<'a> {
    pub env: Env<'a>,
    pub budget: Option<Arc<dyn SharedBudget>>,
}

impl<'a> Context<'a> {
    /// A run's context: its environment and, if any, its shared budget.
    pub fn new(env: Env<'a>, budget: Option<Arc<dyn SharedBudget>>) -> Context<'a> {
        Context { env, budget }
    }
}

/// Connects each vendor of `vendors`, resolving its secrets: the drivers by
/// vendor name, and a problem ("vendor `name`: why") for each that cannot be
/// connected. Nothing is sent.
pub fn connect_all<'v>(
    vendors: impl IntoIterator<Item = &'v Vendor>,
    ctx: &Context,
) -> (BTreeMap<String, Box<dyn Driver>>, Vec<String>) {
    let mut drivers = BTreeMap::new();
    let mut problems = Vec::new();
    for vendor in vendors {
        match super::connect(vendor, ctx) {
            Ok(driver) => {
                drivers.insert(vendor.name.clone(), driver);
            }
            Err(e) => problems.push(format!("vendor `{}`: {e:#}", vendor.name)),
        }
    }
    (drivers, problems)
}

/// Checks a setting that is not a secret, whatever the kind: `base_url` (and
/// `oauth_base_url`) is an http(s) URL with no credentials in it, `company_id`
/// a number, `account_id` an id (it goes into the URL's path). Others pass.
/// Its message names the setting and never shows the value: the value may
/// come from `${VAR}`, which may hold anything (a CI secret, a token).
pub fn check_setting(key: &str, value: &str) -> Result<(), String> {
    match key {
        "base_url" | "oauth_base_url" => match reqwest::Url::parse(value) {
            Ok(url) if !url.username().is_empty() || url.password().is_some() => Err(format!(
                "`{key}` holds credentials (`user:password@`): they would be shown and stored wherever the URL is; give them in the vendor's credential settings"
            )),
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
            Ok(_) => Err(format!(
                "`{key}` must be an http(s) URL with a host"
            )),
            Err(e) => Err(format!("`{key}` is not a URL: {e}")),
        },
        "company_id" if value.trim().parse::<u64>().is_err() => {
            Err("`company_id` must be a number".into())
        }
        "account_id"
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Err(
                "`account_id` must be the account's id (its GUID or number: letters, digits, hyphens)"
                    .into(),
            )
        }
        _ => Ok(()),
    }
}

/// A value a `${VAR}` gives a setting that is not a credential is redacted
/// from this many characters on: a shorter one (a company number, a region)
/// would take ordinary numbers and words out of what vendors say. Credentials
/// are redacted from [`crate::secret::MIN_SECRET`] characters on.
pub const MIN_INTERPOLATED: usize = 8;

/// The values that `${VAR}`s give a vendor's settings, each with whether its
/// setting is a credential: every one is a secret for its redactor.
pub fn interpolated(config: &VendorConfig, env: Env) -> Vec<(Secret, bool)> {
    config
        .templates()
        .into_iter()
        .filter_map(|(key, t)| Some((key, t.filter(|t| !t.is_literal())?)))
        .filter_map(|(key, t)| Some((config.is_secret(key), t.resolve(env).ok()?)))
        .filter(|(secret, value)| *secret || value.chars().count() >= MIN_INTERPOLATED)
        .map(|(secret, value)| (Secret::new(value), secret))
        .collect()
}

/// The base URL setting, resolved, without a trailing slash.
pub fn base_url(url: &Template, env: Env) -> anyhow::Result<String> {
    let url = super::resolve("base_url", url, env)?;
    check_setting("base_url", &url).map_err(anyhow::Error::msg)?;
    Ok(url.trim_end_matches('/').to_string())
}

/// What most drivers are made of: the base URL, their one credential, and the
/// HTTP client that knows to redact it.
pub struct Connection {
    pub base: String,
    pub secret: Secret,
    pub limits: Limits,
    pub http: Http,
}

impl Connection {
    /// Resolves `base_url` and the one credential, `secret` (its key and value).
    pub fn new(
        vendor: &Vendor,
        ctx: &Context,
        base_url: &Template,
        (key, secret): (&str, &Template),
        defaults: Defaults,
    ) -> anyhow::Result<Connection> {
        let (config, env) = (&vendor.config, ctx.env);
        let base = self::base_url(base_url, env)?;
        let secret = Secret::new(super::resolve(key, secret, env)?);
        let limits = Limits::new(&config.common, defaults);
        let account =
            super::http::account_key(config.kind().name(), &base, std::slice::from_ref(&secret));
        let http = Http::new(
            &vendor.name,
            account,
            &limits,
            vec![secret.clone()],
            ctx.budget.clone(),
        )?;
        Ok(Connection {
            base,
            secret,
            limits,
            http,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_message_names_it_never_its_value() {
        for (key, value) in [
            ("base_url", "glpat-Zq8xYw7vU6tS5rR4"),
            ("base_url", "glpat:Zq8xYw7vU6tS5rR4"),
            ("base_url", "https://bot:Zq8xYw7vU6tS5rR4@h.example/"),
            ("base_url", "https://Zq8xYw7vU6tS5rR4@h.example/"),
            ("oauth_base_url", "https://u:Zq8xYw7vU6tS5rR4@h.example/"),
            ("company_id", "Zq8xYw7vU6tS5rR4"),
            ("account_id", "Zq8xYw7vU6tS5rR4/../x"),
        ] {
            let why = check_setting(key, value).unwrap_err();
            assert!(why.contains(&format!("`{key}`")), "{why}");
            assert!(
                !why.contains("Zq8x") && !why.contains("glpat") && !why.contains("bot"),
                "{why}"
            );
        }
        check_setting("base_url", "https://h.example/api").unwrap();
    }

    #[test]
    fn every_interpolated_value_is_a_secret_a_short_setting_aside() {
        let yaml = "kind: docusign\nbase_url: ${URL}\naccount_id: ${ACCOUNT}\ntoken: ${TOKEN}\nintegration_key: lit";
        let config: VendorConfig = serde_yaml::from_str(yaml).unwrap();
        let env = |name: &str| match name {
            "URL" => Some("https://h.example/v2".to_string()),
            "ACCOUNT" => Some("1234".to_string()),
            "TOKEN" => Some("tok".to_string()),
            _ => None,
        };
        let values: Vec<(String, bool)> = interpolated(&config, &env)
            .into_iter()
            .map(|(s, credential)| (s.expose().to_string(), credential))
            .collect();
        assert_eq!(
            values,
            [
                ("https://h.example/v2".to_string(), false),
                ("tok".to_string(), true)
            ]
        );
    }

    /// A shared budget that records each reservation and never waits.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<(String, f64)>>);

    #[async_trait::async_trait]
    impl SharedBudget for Recording {
        async fn reserve(&self, account: &str, rate: f64) -> anyhow::Result<std::time::Duration> {
            self.0.lock().unwrap().push((account.to_string(), rate));
            Ok(std::time::Duration::ZERO)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_budget_is_spent_by_the_drivers_of_its_context_only() {
        // An ActivePlatform on 127.0.0.1 holding no user.
        let app = axum::Router::new().route(
            "/api/vendor/v1/users.json",
            axum::routing::get(|| async { "[]" }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let vendor = |name: &str| Vendor {
            name: name.into(),
            config: serde_yaml::from_str(&format!(
                "{{kind: activeplatform, base_url: '{base}', api_token: tok-Zq8xYw7vU6tS5rR4}}"
            ))
            .unwrap(),
            file: "roster.yaml".into(),
        };
        let (shared, alone) = (vendor("shared"), vendor("alone"));
        let budget = Arc::new(Recording::default());
        let env: Env = &|_| None;
        let (drivers, problems) = connect_all([&shared], &Context::new(env, Some(budget.clone())));
        assert!(problems.is_empty(), "{problems:?}");
        let (others, _) = connect_all([&alone], &Context::new(env, None));
        for (name, driver) in drivers.iter().chain(others.iter()) {
            super::super::list::all(driver.as_ref(), super::super::list::Query::All)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let key = super::super::http::account_key(
            "activeplatform",
            &base,
            &[Secret::new("tok-Zq8xYw7vU6tS5rR4")],
        );
        let rate = super::super::activeplatform::DEFAULTS.rate_per_second;
        // One page read by each driver; only the one given the budget spent it.
        assert_eq!(*budget.0.lock().unwrap(), [(key, rate)]);
    }
}
