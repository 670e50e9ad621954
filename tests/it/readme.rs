//! README.md as a new user follows it: the manual quick start runs as written
//! (with the real binary for `cargo run --`, and the mock started here), and the
//! install section names the package that holds the binary.

use crate::support::{Config, Server};
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn readme() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap()
}

/// The shell block that follows `marker` in README.md.
fn block_after(text: &str, marker: &str) -> String {
    let from = text
        .find(marker)
        .unwrap_or_else(|| panic!("README lacks {marker:?}"));
    let rest = &text[from..];
    let start = rest.find("```sh\n").expect("a sh block") + 6;
    let end = rest[start..].find("```").expect("its end") + start;
    rest[start..end].to_string()
}

#[test]
fn the_manual_quick_start_works_as_written() {
    let block = block_after(&readme(), "To drive it by hand");
    let server = Server::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("examples")).unwrap();
    std::fs::create_dir_all(dir.path().join("target")).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("examples/roster.yaml"),
        dir.path().join("examples/roster.yaml"),
    )
    .unwrap();
    // The mock runs here, not on :8787; examples/roster.yaml reads its address
    // from ROSTER_MOCK_URL. Everything else is the README's.
    let mut script = String::from("set -e\n");
    for line in block.lines() {
        if line.starts_with("cargo run --example") || line.starts_with("curl") {
            continue;
        }
        script.push_str(&line.replace("cargo run -- ", "roster "));
        script.push('\n');
    }
    assert!(script.contains("export ACTON_TOKEN="), "{script}");
    let bin = assert_cmd::cargo::cargo_bin("roster");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("ROSTER_MOCK_URL", &server.url)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("ACTON_TOKEN")
        .env_remove("AP_TOKEN")
        .env_remove("DOCUSIGN_TOKEN")
        .env_remove("FOF_KEY")
        .env_remove("SCIM_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("Apply: 9 created"), "{stdout}");
    assert!(stdout.trim_end().ends_with("unchanged)."), "{stdout}");
    assert!(stdout.contains("No changes"), "{stdout}");
    let held: usize = server.mock.data().users.values().map(|u| u.len()).sum();
    assert_eq!(held, 9);
}

#[test]
fn the_install_section_names_the_package_that_holds_roster() {
    let text = readme();
    let install = block_after(&text, "## Install");
    let manifest = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    let (name, version) = (env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    assert!(
        install.contains(&format!(
            "cargo install --locked {name} --version ={version}"
        )),
        "{install}"
    );
    assert_ne!(name, "roster", "roster on crates.io is another project");
    assert!(
        manifest.contains("[[bin]]\nname = \"roster\""),
        "{manifest}"
    );
    assert!(text.contains("| 2 | only `plan --detailed-exitcode`: apply has work"));
}
