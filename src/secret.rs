//! `Secret`: a string that never prints itself.

use std::fmt;

/// A credential or password. `Debug` and `Display` print `***`; the only way to the
/// value is [`Secret::expose`], which marks each place a secret leaves roster.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of this secret in `text` by `***`, so text that may
    /// echo a request (a vendor's error body, a URL) can be shown.
    pub fn redact_in(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Too short to search for without mangling ordinary words.
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let s = Secret::new("hunter22");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(s.redact_in("token=hunter22&x=1"), "token=***&x=1");
    }
}
