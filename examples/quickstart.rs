//! The quick start: `cargo run --example quickstart`. Starts the bundled mock
//! vendor server, then runs roster end to end on examples/roster.yaml: validate,
//! plan, apply, and plan again to show nothing is left to do. The state file is
//! left in target/quickstart/ to look at.

use roster::ops::{self, Context, Events, Limits, Narrow, StateLocation, Target};
use roster::plan::render;
use roster_mock as mock;
use std::path::{Path, PathBuf};

/// The workflows' notices, on stderr as the binary writes them.
struct Notices;

impl Events for Notices {
    fn notice(&self, text: &str) {
        eprintln!("{text}");
    }
}

/// One plan, shown as `roster plan` shows it; whether apply has work.
fn plan(ctx: &Context<'_>, file: &Path, state: &Path) -> anyhow::Result<bool> {
    println!(
        "\n$ roster plan -f {} --state {}",
        file.display(),
        state.display()
    );
    let report = ops::plan::run(
        ctx,
        &ops::plan::Request {
            target: Target {
                file: file.to_path_buf(),
                state: StateLocation::file(state),
                narrow: Narrow::default(),
            },
            limits: Limits::default(),
            refresh: false,
            accept_gone: Vec::new(),
            with_specs: false,
            out: None,
        },
    )?;
    print!("{}", render::text(&report.view(), false));
    Ok(report.summary.has_work())
}

/// The quick start through the library's workflows, as the binary runs them.
fn run(file: &Path, state: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let ctx = Context {
        env: &roster::model::process_env,
        runtime: &runtime,
        events: &Notices,
    };
    println!("\n$ roster validate -f {}", file.display());
    let desired = ops::load_desired(file, ctx.env)?;
    println!(
        "{} is valid: {} vendor(s), {} user(s).",
        file.display(),
        desired.vendors.len(),
        desired.users.len()
    );
    plan(&ctx, file, state)?;
    println!(
        "\n$ roster apply -f {} --state {} --yes",
        file.display(),
        state.display()
    );
    let request = ops::apply::Request {
        target: Target {
            file: file.to_path_buf(),
            state: StateLocation::file(state),
            narrow: Narrow::default(),
        },
        limits: Limits::default(),
        yes: true,
        force: false,
        refresh: false,
        accept_gone: Vec::new(),
        planfile: None,
    };
    let report = ops::apply::run(&ctx, &request, std::future::pending())?;
    if let ops::apply::Outcome::Applied(r) = &report.outcome {
        println!("{}", r.line());
    }
    anyhow::ensure!(report.ok(), "apply did not finish cleanly");
    anyhow::ensure!(!plan(&ctx, file, state)?, "the second plan still has work");
    Ok(())
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
    let state: PathBuf = work.join("roster.state.json");
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .without_time()
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
    if let Err(e) = run(&file, &state) {
        eprintln!("quickstart: {e:#}");
        std::process::exit(1);
    }
    let state = state.display();
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
