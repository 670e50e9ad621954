//! A vendor's password rule: checked at load, and passwords generated to pass it.

use crate::model::Password;
use crate::secret::Secret;

/// A vendor's password rule; roster checks it at load and generates passwords
/// that pass it.
#[derive(Clone, Copy, Debug)]
pub struct PasswordPolicy {
    pub min: usize,
    pub max: usize,
    /// Characters allowed besides ASCII letters and digits.
    pub symbols: &'static str,
}

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> Result<(), String> {
        let len = password.chars().count();
        // The rule, never a character of the password (nor its length): this
        // message reaches logs and CI output.
        if len < self.min || len > self.max {
            return Err(format!(
                "password must be {}-{} characters long; it is {}",
                self.min,
                self.max,
                if len < self.min { "shorter" } else { "longer" }
            ));
        }
        if password
            .chars()
            .any(|c| !c.is_ascii_alphanumeric() && !self.symbols.contains(c))
        {
            return Err(format!(
                "password may hold only letters, digits and {}; it holds another character",
                self.symbols
            ));
        }
        Ok(())
    }

    /// A random password that passes the policy, with every kind of character.
    pub fn generate(&self) -> Secret {
        use rand::seq::SliceRandom;
        use rand::Rng;
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const DIGIT: &[u8] = b"23456789";
        let mut rng = rand::thread_rng();
        let len = 20.clamp(self.min, self.max);
        let mut classes: Vec<&[u8]> = vec![LOWER, UPPER, DIGIT];
        if !self.symbols.is_empty() {
            classes.push(self.symbols.as_bytes());
        }
        let all: Vec<u8> = classes.concat();
        let mut chars: Vec<u8> = classes
            .iter()
            .map(|class| class[rng.gen_range(0..class.len())])
            .collect();
        while chars.len() < len {
            chars.push(all[rng.gen_range(0..all.len())]);
        }
        chars.shuffle(&mut rng);
        Secret::new(String::from_utf8_lossy(&chars).into_owned())
    }
}

/// Checks what every kind asks of a user's password at load time: present where the
/// vendor needs one, and within its policy when written literally.
pub fn check_password(
    policy: Option<PasswordPolicy>,
    password: Option<&Password>,
) -> Result<(), String> {
    let Some(policy) = policy else { return Ok(()) };
    match password {
        None => Err(
            "this vendor needs a password: set `password: generate` or `password: ${VAR}`".into(),
        ),
        Some(Password::Generate) => Ok(()),
        Some(Password::Template(t)) if t.is_literal() => policy.check(t.raw()),
        Some(Password::Template(_)) => Ok(()), // checked when apply resolves it
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy() {
        let policy = crate::vendors::acton::PASSWORD.unwrap();
        for _ in 0..200 {
            let p = policy.generate();
            policy.check(p.expose()).unwrap();
        }
        let tight = PasswordPolicy {
            min: 6,
            max: 8,
            symbols: "",
        };
        tight.check(tight.generate().expose()).unwrap();
    }

    #[test]
    fn policy_names_the_problem() {
        let policy = crate::vendors::acton::PASSWORD.unwrap();
        assert!(policy.check("short").unwrap_err().contains("6-30"));
        let err = policy.check("has spacé 1").unwrap_err();
        assert!(err.contains("letters, digits and !@#$%^&*?|"), "{err}");
        // Nothing of the password itself: not the offending character, not its length.
        assert!(
            !err.contains("' '") && !err.contains('é') && !err.contains("11"),
            "{err}"
        );
        assert!(!policy.check("a1").unwrap_err().contains('2'));
        policy.check("Abc!@#$%^&*?|9").unwrap();
    }
}
