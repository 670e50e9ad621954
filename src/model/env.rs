//! `${VAR}` references from roster.yaml to the environment.
//!
//! Values are kept as templates and resolved late: `plan` and `validate` must work
//! without secrets (a pull request from a fork has none), so only `apply` insists
//! that every variable it needs is set.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// Looks a variable up; the process environment in the CLI, a map in tests.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A string that may hold `${VAR}` or `${VAR:-default}`; `$$` is a literal `$`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    raw: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var {
        name: String,
        default: Option<String>,
    },
}

impl Template {
    pub fn parse(raw: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = raw;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("$$") {
                literal.push('$');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("${") {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("unterminated `${{` in {raw:?}"))?;
                let (name, default) = match after[..end].split_once(":-") {
                    Some((name, default)) => (name, Some(default.to_string())),
                    None => (&after[..end], None),
                };
                let valid = !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(format!("invalid variable name {name:?} in {raw:?}"));
                }
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Var {
                    name: name.to_string(),
                    default,
                });
                rest = &after[end + 1..];
            } else {
                literal.push('$');
                rest = &rest[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template {
            raw: raw.to_string(),
            parts,
        })
    }

    /// The text as written in the file.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// True when the value holds no variable: what is written is what is used.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The variables this value needs that have no default and are unset.
    pub fn missing(&self, env: Env) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Var {
                    name,
                    default: None,
                } if env(name).is_none() => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// The value with every variable substituted, or the names of the unset ones.
    pub fn resolve(&self, env: Env) -> Result<String, Vec<String>> {
        let missing = self.missing(env);
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Var { name, default } => {
                    out.push_str(&env(name).or_else(|| default.clone()).unwrap_or_default())
                }
            }
        }
        Ok(out)
    }
}

impl schemars::JsonSchema for Template {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Template".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A value that may hold ${VAR} or ${VAR:-default} from the environment ($$ is a literal $).",
            "type": ["string", "integer"],
        })
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TemplateVisitor;
        impl Visitor<'_> for TemplateVisitor {
            type Value = Template;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string (may hold ${VAR})")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Template, E> {
                Template::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Template, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Template, E> {
                self.visit_str(&v.to_string())
            }
        }
        deserializer.deserialize_any(TemplateVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("abc".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn resolves_and_reports_missing() {
        let cases: &[(&str, Result<&str, &[&str]>)] = &[
            ("plain", Ok("plain")),
            ("${TOKEN}", Ok("abc")),
            ("x-${TOKEN}-y", Ok("x-abc-y")),
            ("${UNSET:-fallback}", Ok("fallback")),
            ("${TOKEN:-fallback}", Ok("abc")),
            ("${EMPTY}", Ok("")),
            ("$$TOKEN and $${TOKEN}", Ok("$TOKEN and ${TOKEN}")),
            ("cost $5", Ok("cost $5")),
            ("${UNSET}/${ALSO}", Err(&["UNSET", "ALSO"])),
        ];
        for (raw, want) in cases {
            let t = Template::parse(raw).unwrap();
            let got = t.resolve(&env);
            match want {
                Ok(s) => assert_eq!(got.as_deref(), Ok(*s), "{raw}"),
                Err(names) => assert_eq!(got.unwrap_err(), names.to_vec(), "{raw}"),
            }
        }
    }

    #[test]
    fn rejects_malformed() {
        for raw in ["${", "${}", "${1A}", "${A B}", "x${A"] {
            assert!(Template::parse(raw).is_err(), "{raw}");
        }
        assert!(Template::parse("${A}").map(|t| !t.is_literal()).unwrap());
        assert!(Template::parse("a$$b").map(|t| t.is_literal()).unwrap());
    }
}
