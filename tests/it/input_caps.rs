//! roster.yaml is read within bounds: size, nesting depth and number of
//! documents are capped with an error naming the file, the place and the limit,
//! in time linear in the input whatever its shape; a byte-order mark is fine; a
//! zero or negative duration is refused where it is written.
//!
//! Times are asserted only as a generous guard against quadratic parsing, which
//! took a minute on 200 KB; the measurement is not the point.

use crate::support::Test;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// Documents of about 1 MB nested as deep as their shape allows.
fn deep_documents() -> Vec<(&'static str, String)> {
    let half = MIB / 2;
    let quarter = MIB / 4;
    let mut block = String::from("version: 1\nroles:\n");
    let mut depth = 1;
    while block.len() < MIB {
        block.push_str(&" ".repeat(depth));
        block.push_str("a:\n");
        depth += 1;
    }
    vec![
        ("flow sequences", format!("version: 1\nusers: {}{}\n", "[".repeat(half), "]".repeat(half))),
        ("flow mappings", format!("version: 1\nusers: {}b{}\n", "{a: ".repeat(quarter), "}".repeat(quarter))),
        (
            "flow in an account block",
            format!(
                "version: 1\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    accounts:\n      v: {{ settings: {}1{} }}\nvendors:\n  v: {{ kind: docusign, base_url: http://x, account_id: a, token: t }}\n",
                "[".repeat(half),
                "]".repeat(half)
            ),
        ),
        ("a list of lists", format!("version: 1\nusers:\n{}x\n", "- ".repeat(half))),
        ("indented mappings", block),
    ]
}

#[test]
fn a_deeply_nested_file_is_refused_at_once() {
    let t = Test::new();
    for (shape, text) in deep_documents() {
        assert!(text.len() >= MIB - 64, "{shape}: {} bytes", text.len());
        t.write("roster.yaml", &text);
        let start = Instant::now();
        let run = t.run(&["validate"]);
        let took = start.elapsed();
        run.code(1);
        assert!(
            run.stderr.starts_with("error: roster.yaml:")
                && run.stderr.contains(": nested deeper than 64 levels"),
            "{shape}: {}",
            run.stderr
        );
        // A guard against a blow-up (the quadratic scanner took minutes on far
        // less), not a speed claim: refused before it is parsed.
        assert!(took < Duration::from_secs(60), "{shape}: {took:?}");
        // plan reads the same way.
        t.run(&["plan"]).code(1);
    }
}

#[test]
fn a_large_file_nested_within_the_limit_loads_in_linear_time() {
    // 1 MB of users, each with settings nested 40 deep: allowed, and read once.
    let nested = format!("{}1{}", "{a: ".repeat(40), "}".repeat(40));
    let mut text = String::from(
        "version: 1\nvendors:\n  v: { kind: docusign, base_url: http://x, account_id: a, token: t }\nusers:\n",
    );
    let mut n = 0;
    while text.len() < MIB {
        text.push_str(&format!(
            "  - email: u{n}@example.com\n    first_name: A\n    last_name: B\n    accounts:\n      v: {{ settings: {nested} }}\n"
        ));
        n += 1;
    }
    let t = Test::new();
    t.write("roster.yaml", &text);
    let start = Instant::now();
    let run = t.run(&["validate"]);
    let took = start.elapsed();
    run.code(0);
    assert!(
        run.stdout.contains(&format!("{n} user(s)")),
        "{}",
        run.stdout
    );
    // A guard against a blow-up (the quadratic scanner took minutes on far less),
    // not a speed claim: the debug build on a loaded machine takes a few seconds.
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let t = Test::new();
    let file = std::fs::File::create(t.path("roster.yaml")).unwrap();
    file.set_len(65 * MIB as u64).unwrap(); // sparse: nothing is written
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("roster.yaml: 65.0 MiB is over the limit of 64 MiB for one file"),
        "{}",
        run.stderr
    );
    // In a folder too.
    std::fs::create_dir(t.path("conf")).unwrap();
    std::fs::rename(t.path("roster.yaml"), t.path("conf/users.yaml")).unwrap();
    let run = t.run(&["plan", "-f", "conf"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("users.yaml: 65.0 MiB is over the limit"),
        "{}",
        run.stderr
    );
}

const VALID: &str = "version: 1\nvendors:\n  v:\n    kind: scim\n    base_url: http://x\n    token: t\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    accounts:\n      v: {}\n";

#[test]
fn a_byte_order_mark_is_accepted() {
    let t = Test::new();
    t.write("roster.yaml", &format!("\u{feff}{VALID}"));
    t.run(&["validate"]).code(0);
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 1);
    // Errors keep their line numbers.
    t.write(
        "roster.yaml",
        &format!("\u{feff}{}", VALID.replace("first_name: A", "first_nam: A")),
    );
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("roster.yaml:9:5: users[0]: unknown field `first_nam`"),
        "{}",
        run.stderr
    );
}

#[test]
fn more_than_one_document_is_refused_where_the_second_starts() {
    let t = Test::new();
    for (text, line) in [
        (format!("{VALID}---\n{VALID}"), 13),
        (format!("---\n{VALID}--- # again\nversion: 1\n"), 14),
        (format!("{VALID}...\nversion: 1\n"), 14),
    ] {
        t.write("roster.yaml", &text);
        let run = t.run(&["validate"]);
        run.code(1);
        assert!(
            run.stderr.contains(&format!(
                "roster.yaml:{line}:1: holds more than one document"
            )),
            "{text}\n{}",
            run.stderr
        );
    }
    // A marker before the one document is fine.
    t.write("roster.yaml", &format!("---\n{VALID}"));
    t.run(&["validate"]).code(0);
}

#[test]
fn zero_and_negative_durations_are_refused_where_written() {
    let t = Test::new();
    for bad in ["0s", "0ms", "-5s", "0"] {
        t.write(
            "roster.yaml",
            &VALID.replace(
                "    token: t\n",
                &format!("    token: t\n    timeout: {bad}\n"),
            ),
        );
        let run = t.run(&["validate"]);
        run.code(1);
        assert!(
            run.stderr.contains(&format!(
                "roster.yaml:7:14: vendors.v.timeout: invalid duration \"{bad}\""
            )),
            "{bad}: {}",
            run.stderr
        );
    }
    t.write(
        "roster.yaml",
        &VALID.replace("    token: t\n", "    token: t\n    timeout: 500ms\n"),
    );
    t.run(&["validate"]).code(0);
}

#[test]
fn ordinary_files_with_brackets_quotes_and_block_text_are_not_mistaken_for_deep_ones() {
    // Brackets in plain and quoted text, a block scalar indented every which way,
    // and a comment full of braces: none of them is nesting.
    let mut text = VALID.replace(
        "first_name: A",
        &format!(
            "first_name: \"{}\"\n    title: a{}b # {}\n    middle_name: |\n{}",
            "[".repeat(100),
            "[{".repeat(100),
            "{[".repeat(100),
            (0..100)
                .map(|i| format!("{}x [ {{\n", " ".repeat(6 + i)))
                .collect::<String>()
        ),
    );
    text.push_str(&format!("# {}\n", "[".repeat(200)));
    let t = Test::new();
    t.write("roster.yaml", &text);
    let run = t.run(&["validate"]);
    run.code(0);
}
