//! "Did you mean": the known name closest to a misspelt one.

/// `" (did you mean `x`?)"` for the name of `known` most like `name`, if one
/// is alike enough (Jaro-Winkler similarity over 0.8, as cargo and clap
/// judge a misspelt command); otherwise nothing.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    known
        .into_iter()
        .filter(|k| *k != name)
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_name_is_suggested_and_a_stranger_is_not() {
        let known = ["okta-app", "acton", "docusign-eu"];
        assert_eq!(
            did_you_mean("octa-app", known),
            " (did you mean `okta-app`?)"
        );
        assert_eq!(
            did_you_mean("docusign", known),
            " (did you mean `docusign-eu`?)"
        );
        assert_eq!(did_you_mean("zzz", known), "");
        assert_eq!(did_you_mean("x", []), "");
    }
}
