//! The quick start: `cargo run --example quickstart`. Starts the bundled mock
//! vendor server, then runs roster end to end on examples/roster.yaml: validate,
//! plan, apply, and plan again to show nothing is left to do. The state file is
//! left in target/quickstart/ to look at.

use clap::Parser;
use roster_mock as mock;
use std::path::Path;

fn roster(args: &[&str]) -> u8 {
    println!("\n$ roster {}", args.join(" "));
    let cli = roster::cli::Cli::parse_from(std::iter::once("roster").chain(args.iter().copied()));
    match roster::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn main() {
    let server = mock::Server::start(mock::Config::default());
    println!("mock vendor server on {}", server.url);
    // The example YAML reads the mock's address and token from the environment,
    // as a real one reads real credentials.
    let c = &server.mock.config;
    for (var, value) in [
        ("ROSTER_MOCK_URL", &server.url),
        ("ACTON_TOKEN", &c.acton_token),
        ("AP_TOKEN", &c.activeplatform_token),
        ("DOCUSIGN_TOKEN", &c.docusign_token),
        ("FOF_KEY", &c.formsonfire_key),
        ("SCIM_TOKEN", &c.scim_token),
    ] {
        std::env::set_var(var, value);
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("examples/roster.yaml");
    let work = root.join("target/quickstart");
    let _ = std::fs::remove_dir_all(&work);
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("quickstart: cannot create {}: {e}", work.display());
        std::process::exit(1);
    }
    let state = work.join("roster.state.json");
    let (file, state) = (file.to_string_lossy(), state.to_string_lossy());

    roster::cli::init_tracing(0, false, roster::cli::LogFormat::Text);
    let steps: [(&[&str], u8); 4] = [
        (&["validate", "-f", &file], 0),
        (&["plan", "-f", &file, "--state", &state], 0),
        (&["apply", "-f", &file, "--state", &state, "--yes"], 0),
        (
            &[
                "plan",
                "-f",
                &file,
                "--state",
                &state,
                "--detailed-exitcode",
            ],
            0,
        ),
    ];
    for (args, want) in steps {
        let code = roster(args);
        if code != want {
            eprintln!("quickstart: expected exit {want}, got {code}");
            std::process::exit(1);
        }
    }
    let data = server.mock.data();
    let held: Vec<String> = data
        .users
        .iter()
        .map(|(kind, users)| format!("{kind}: {}", users.len()))
        .collect();
    println!(
        "\nThe mock received {} request(s) and holds {}. State: {state}",
        data.requests.len(),
        held.join(", ")
    );
}
