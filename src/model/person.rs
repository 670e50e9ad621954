//! A person as every vendor sees them: their details and how their initial
//! password is chosen.

use super::Template;
use serde::Serialize;

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
