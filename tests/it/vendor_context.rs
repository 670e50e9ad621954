//! The rate budget a PostgreSQL state keeps reaches the vendors of every
//! command that talks to them: it is handed to them with their context, not
//! installed in the process, so each command must hand it over itself.

use crate::support::pg::Pg;
use crate::support::{pg_store, Config, Server, Test};
use std::time::Duration;

/// The accounts whose budget was spent since the table was last emptied.
fn spent(pg: &Pg) -> Vec<String> {
    pg.sql("SELECT account FROM roster_budgets")
        .into_iter()
        .map(|row| row[0].clone().unwrap_or_default())
        .collect()
}

#[test]
fn every_command_that_reads_or_writes_a_vendor_spends_the_shared_budget() {
    let pg = Pg::start();
    // The schema, budgets' table included.
    pg_store(pg.url(), "default", Duration::ZERO);
    let server = Server::start(Config::default());
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: N\n    accounts:\n      app: {{}}\n",
            server.url
        ),
    );
    let state = pg.url();
    for command in [
        &["apply", "--yes", "--state", state][..],
        &["refresh", "--state", state],
        &["plan", "--refresh", "--state", state],
        &["apply", "--yes", "--refresh", "--state", state],
        &["import", "--vendor", "app", "--state", state],
    ] {
        // Named without the database's URL, which holds its password.
        let named: Vec<_> = command.iter().take_while(|a| **a != "--state").collect();
        pg.sql("DELETE FROM roster_budgets");
        t.run(command).code(0);
        let accounts = spent(&pg);
        assert_eq!(accounts.len(), 1, "{named:?}: {accounts:?}");
        assert!(accounts[0].starts_with("scim "), "{named:?}: {accounts:?}");
    }
    // A state file keeps no budget, and the vendors pace themselves alone.
    pg.sql("DELETE FROM roster_budgets");
    t.run(&["refresh", "--state", "roster.state.json"]).code(0);
    assert_eq!(spent(&pg), Vec::<String>::new());
}
