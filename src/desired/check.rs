//! The one validation path of validate, plan and apply, and the list of problems
//! it reports. Loading checks what the file says (each problem at its line); what
//! only the environment gives, a setting written as `${VAR}`, is checked by
//! [`check_resolved`] once the variable is set.

use super::Desired;
use crate::model::Env;
use crate::vendors::check_setting;
use std::collections::BTreeSet;
use std::fmt;

/// At most this many problems are listed; the count says how many more.
const MAX_PROBLEMS: usize = 50;

/// Every problem found in the desired state, in the order found, each once.
#[derive(Debug, Default)]
pub struct Problems {
    list: Vec<String>,
    seen: BTreeSet<String>,
}

impl Problems {
    pub fn push(&mut self, problem: String) {
        if self.seen.insert(problem.clone()) {
            self.list.push(problem);
        }
    }

    /// The problems, in the order found.
    pub fn list(&self) -> &[String] {
        &self.list
    }

    /// `Ok` if there are none, else these problems as the error; either way
    /// `self` is left empty.
    pub fn finish(&mut self) -> Result<(), Problems> {
        if self.list.is_empty() {
            return Ok(());
        }
        Err(Problems {
            list: std::mem::take(&mut self.list),
            seen: std::mem::take(&mut self.seen),
        })
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.list.as_slice() {
            [] => f.write_str("no problems"),
            [one] => f.write_str(one),
            all => {
                write!(f, "{} problems in the desired state:", all.len())?;
                for p in all.iter().take(MAX_PROBLEMS) {
                    write!(f, "\n  - {p}")?;
                }
                if all.len() > MAX_PROBLEMS {
                    write!(f, "\n  ... and {} more", all.len() - MAX_PROBLEMS)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Problems {}

/// Checks what the load could not: each vendor setting written as `${VAR}` that
/// is not a credential, with the value `env` gives it (unset, it is apply's to
/// insist on), so plan catches a bad URL before apply does. Lists every problem.
/// A message names the variable and the setting, never the value: it may be a
/// secret, and this message reaches CI logs and PR comments.
pub fn check_resolved(desired: &Desired, env: Env) -> Result<(), Problems> {
    let mut problems = Problems::default();
    for (name, vendor) in &desired.vendors {
        let config = &vendor.config;
        for (key, template) in config.templates() {
            let Some(t) = template.filter(|t| !t.is_literal() && !config.is_secret(key)) else {
                continue;
            };
            let Ok(value) = t.resolve(env) else {
                continue;
            };
            if let Err(why) = check_setting(key, &value) {
                problems.push(format!(
                    "{}: vendors.{name}.{key}: the value of {}: {why}",
                    vendor.file.display(),
                    t.raw()
                ));
            }
        }
    }
    problems.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::load_str;

    const FILE: &str = "version: 1
vendors:
  a: { kind: acton, base_url: \"${A_URL}\", token: \"${A_TOKEN}\" }
  f: { kind: formsonfire, base_url: \"http://x\", company_id: \"${F_ID}\", integration_key: \"${F_KEY}\" }
  d: { kind: docusign, base_url: \"http://x\", account_id: \"${D_ID}\", token: \"${D_TOKEN}\" }
users: []
";

    #[test]
    fn every_resolved_setting_is_checked_and_no_value_is_shown() {
        let env = |name: &str| match name {
            "A_URL" => Some("ftp://secret-host-a".to_string()),
            "F_ID" => Some("acme-secret-id".to_string()),
            "D_ID" => Some("12/../secret".to_string()),
            // Credentials are never checked: they may hold anything.
            _ => Some("not a url, not a number".to_string()),
        };
        let desired = load_str("r.yaml", FILE, &env).unwrap();
        let problems = check_resolved(&desired, &env).unwrap_err();
        assert_eq!(
            problems.list(),
            [
                "r.yaml: vendors.a.base_url: the value of ${A_URL}: `base_url` must be an http(s) URL with a host",
                "r.yaml: vendors.d.account_id: the value of ${D_ID}: `account_id` must be the account's id (its GUID or number: letters, digits, hyphens)",
                "r.yaml: vendors.f.company_id: the value of ${F_ID}: `company_id` must be a number",
            ]
        );
        let text = problems.to_string();
        assert!(
            text.starts_with("3 problems in the desired state:\n  - r.yaml: vendors.a.base_url"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn unset_or_good_values_pass() {
        let desired = load_str("r.yaml", FILE, &|_| None).unwrap();
        check_resolved(&desired, &|_| None).unwrap();
        let good = |name: &str| match name {
            "A_URL" => Some("https://a.example/api".to_string()),
            "F_ID" | "D_ID" => Some("1234".to_string()),
            _ => Some("x".to_string()),
        };
        check_resolved(&desired, &good).unwrap();
    }
}
