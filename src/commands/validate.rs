//! `roster validate`: syntax, schema and vendor rules of the desired state.

use super::{load_desired, say, Input, EXIT_OK};

pub fn exec(input: &Input) -> anyhow::Result<u8> {
    let d = load_desired(input)?;
    let accounts: usize = d.users.values().map(|u| u.accounts.len()).sum();
    say!(
        "{} is valid: {} vendor(s), {} user(s), {} account(s).",
        input.file.display(),
        d.vendors.len(),
        d.users.len(),
        accounts
    );
    Ok(EXIT_OK)
}
