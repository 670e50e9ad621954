//! Who a user is at a vendor: the one normalised form of an email, and the
//! look-alikes (a name that equals an address only once a character is folded
//! into ASCII or an invisible one dropped), which are reported, never matched.

use crate::secret::is_hidden;
use std::borrow::Cow;

/// The one form of an email that roster keys on, sends and compares, everywhere:
/// surrounding white space trimmed, lower-cased (Unicode-aware, so `Ö` is `ö`),
/// then Unicode NFC (so a precomposed `ö` and `o` + combining diaeresis are one
/// letter). Two emails are the same user exactly when their identities are equal.
///
/// A character that is not ASCII but would become ASCII by lower-casing or
/// normalising (the Kelvin sign U+212A lower-cases to `k`, and NFC turns it into
/// `K`) is kept as it is: a name that equals an email only once such a character
/// is folded is a look-alike (see [`lookalike`]), never the same user.
pub fn identity(email: &str) -> String {
    identity_of(email).into_owned()
}

/// Whether `email` is already in its one form (see [`identity`]).
pub fn is_identity(email: &str) -> bool {
    match identity_of(email) {
        Cow::Borrowed(e) => e.len() == email.len(),
        Cow::Owned(e) => e == email,
    }
}

/// [`identity`], borrowed from `email` where nothing but trimming is needed.
fn identity_of(email: &str) -> Cow<'_, str> {
    use unicode_normalization::UnicodeNormalization;
    // ASCII whitespace only: a vendor's name padded with a non-ASCII space
    // (U+3000, U+00A0) is not this email but a look-alike of it.
    let email = email.trim_matches(|c: char| c.is_ascii_whitespace());
    // Most are already in their one form: ASCII with no capital letter.
    if email
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        return Cow::Borrowed(email);
    }
    let mut out = String::with_capacity(email.len());
    // Runs between such characters are lower-cased as strings, not character
    // by character, so that context rules (a final sigma) apply as before.
    let mut from = 0;
    for (at, c) in email.char_indices().filter(|&(_, c)| folds_into_ascii(c)) {
        out.extend(email[from..at].to_lowercase().nfc());
        out.push(c);
        from = at + c.len_utf8();
    }
    out.extend(email[from..].to_lowercase().nfc());
    Cow::Owned(out)
}

/// Whether `c` is not ASCII but lower-casing or compatibility normalisation
/// (NFKC) turns it into something with ASCII in it: the Kelvin sign (`k`), the
/// long s (`s`), fullwidth forms, ligatures such as `ﬁ`.
pub fn folds_into_ascii(c: char) -> bool {
    use unicode_normalization::UnicodeNormalization;
    !c.is_ascii()
        && (c.to_lowercase().any(|l| l.is_ascii())
            || std::iter::once(c).nfkc().any(|n| n.is_ascii()))
}

/// `text` with every non-ASCII character shown as its code point (`\u{212a}`),
/// so that a look-alike reads differently from what it imitates.
pub fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

/// The form of an identity with every look-alike folded: compatibility
/// normalised (NFKC) and lower-cased, twice, so that folding cannot reveal more
/// to fold, without invisible characters and trimmed of the spaces folding
/// gave. Two identities with the same skeleton look alike.
pub fn skeleton(identity: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let visible: String = identity.chars().filter(|&c| !is_hidden(c)).collect();
    let once: String = visible.nfkc().flat_map(char::to_lowercase).collect();
    let twice: String = once.nfkc().flat_map(char::to_lowercase).collect();
    twice.trim().to_string()
}

/// Whether `name` holds a character that lets it imitate another name: one
/// that folds into ASCII, or an invisible one. Only such a name can be a
/// look-alike.
pub fn may_imitate(name: &str) -> bool {
    name.chars().any(|c| folds_into_ascii(c) || is_hidden(c))
}

/// Whether the identity `theirs` (a vendor's name) equals `ours` (a desired
/// identity) only once a non-ASCII character is folded into ASCII or an
/// invisible one dropped: a look-alike, reported and never matched.
pub fn lookalike(theirs: &str, ours: &str) -> bool {
    theirs != ours && may_imitate(theirs) && skeleton(theirs) == skeleton(ours)
}

/// Refuses an email (or a name given as an identity) that holds a character
/// which imitates ASCII: written so in roster.yaml it is a look-alike of the
/// ASCII address, and no vendor account could be matched to it safely.
pub fn check_identity(what: &str, text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|&c| is_hidden(c)) {
        return Err(format!(
            "{what} {:?} holds U+{:04X}, an invisible character: write it in plain ASCII (a look-alike is never matched to an account)",
            escaped(text),
            c as u32,
        ));
    }
    match text.chars().find(|&c| folds_into_ascii(c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "{what} {:?} holds U+{:04X}, a character that imitates ASCII {:?}: write it in plain ASCII (a look-alike is never matched to an account)",
            escaped(text),
            c as u32,
            skeleton(&c.to_string())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_identity_per_email() {
        let precomposed = "\u{d6}laf.M\u{fc}ller@Example.com";
        let decomposed = "O\u{308}laf.Mu\u{308}ller@example.COM";
        assert_eq!(identity(precomposed), "\u{f6}laf.m\u{fc}ller@example.com");
        assert_eq!(identity(precomposed), identity(decomposed));
        assert_eq!(identity("  A@B.io "), "a@b.io");
        assert_ne!(identity("a@b.io"), identity("a.@b.io"));
        // Lower-cased as a string: a final capital sigma is a final sigma.
        assert_eq!(
            identity("\u{39f}\u{394}\u{3a5}\u{3a3}@x.gr"),
            "\u{3bf}\u{3b4}\u{3c5}\u{3c2}@x.gr"
        );
    }

    #[test]
    fn an_email_is_its_identity_only_in_its_one_form() {
        for (email, one) in [
            ("a@b.io", true),
            ("\u{f6}laf@example.com", true),
            (" a@b.io", false),
            ("a@b.io\t", false),
            ("A@b.io", false),
            ("O\u{308}laf@example.com", false),
            ("\u{d6}laf@example.com", false),
        ] {
            assert_eq!(is_identity(email), one, "{email:?}");
            assert_eq!(is_identity(email), identity(email) == email, "{email:?}");
        }
    }

    #[test]
    fn a_name_that_matches_only_once_folded_into_ascii_is_a_lookalike() {
        let ascii = identity("kate@example.com");
        // (vendor's name, look-alike of kate@example.com)
        let cases = [
            ("\u{212a}ATE@example.com", true), // Kelvin sign
            ("\u{212a}ate@example.com", true),
            ("\u{ff4b}ate@example.com", true),  // fullwidth k
            ("kate@ex\u{ff41}mple.com", true),  // fullwidth a
            ("kate@example.com\u{3000}", true), // padded with an ideographic space
            ("\u{a0}kate@example.com", true),   // or a no-break space
            ("ka\u{200b}te@example.com", true), // a zero-width space inside
            (" kate@example.com\t", false),     // ASCII spaces are trimmed: the same user
            ("KATE@EXAMPLE.COM", false),        // the same user
            ("kate@example.com", false),
            ("kat\u{e9}@example.com", false), // another user
            ("mate@example.com", false),
        ];
        for (theirs, look) in cases {
            let id = identity(theirs);
            assert_eq!(lookalike(&id, &ascii), look, "{}", escaped(theirs));
            if look {
                assert_ne!(id, ascii, "{} matched", escaped(theirs));
            }
        }
        let long_s = identity("\u{17f}am@example.com");
        assert_ne!(long_s, identity("sam@example.com"));
        assert!(lookalike(&long_s, &identity("sam@example.com")));
        // Legitimate non-ASCII letters are neither folded nor look-alikes.
        assert!(!folds_into_ascii('\u{f6}'));
        assert!(!folds_into_ascii('\u{e9}'));
        assert!(folds_into_ascii('\u{212a}'));
        assert!(folds_into_ascii('\u{17f}'));
        assert_eq!(escaped("\u{212a}ate@x.io"), "\\u{212a}ate@x.io");
        assert!(check_identity("email", "kate@x.io").is_ok());
        let e = check_identity("email", "ka\u{200b}te@x.io").unwrap_err();
        assert!(e.contains("U+200B, an invisible character"), "{e}");
        let e = check_identity("email", "\u{212a}ate@x.io").unwrap_err();
        assert!(
            e.contains("U+212A") && e.contains("\\u{212a}ate@x.io"),
            "{e}"
        );
    }
}
