//! The test support is a crate of its own (tests/mock, `roster_mock`): the
//! tests, the examples and the benchmark depend on it rather than pull its files
//! in with `#[path]` (each with `allow(dead_code)` for what it did not use).

use crate::support::pg::with_database;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `.rs` files under `dir`, at any depth.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_target_pulls_the_mock_in_by_path() {
    let mut files = Vec::new();
    for dir in ["examples", "benches", "tests"] {
        rust_files(&Path::new(ROOT).join(dir), &mut files);
    }
    assert!(files.len() > 40, "{files:?}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let in_support = file.starts_with(Path::new(ROOT).join("tests/support"))
            || file.starts_with(Path::new(ROOT).join("tests/mock"));
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let by_path =
                line.starts_with("#[path") && ["mock", "pg.rs"].iter().any(|m| line.contains(m));
            let silenced = line.contains("allow(dead_code)")
                && (in_support || !file.starts_with(Path::new(ROOT).join("tests")));
            if by_path || silenced {
                found.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_database_url_gets_another_database() {
    assert_eq!(
        with_database("postgres://u:p@h:5/db?sslmode=disable", "x"),
        "postgres://u:p@h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
