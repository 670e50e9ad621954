//! The throughput benchmark: `cargo bench --bench throughput [-- OPTIONS]`.
//!
//! plan:  generates N users x 2 vendors and times roster's plan (load, state,
//!        diff, render) against the bare `serde_yaml` parse of the same file, with
//!        an empty state and with a full one (every pair recorded).
//! apply: starts the mock vendor server with a latency, runs the real binary, and
//!        compares its time with the floor the vendor allows,
//!        max(N / (batch x rate), N x latency / (batch x concurrency)), and with a
//!        sequential one-request-per-user loop (what a hand-written script does).
//!
//! refresh: seeds N accounts at each of the four vendors that can list (mock, with
//!        a latency), runs `roster refresh` on an empty state (every account is
//!        read and adopted) and compares its time with the floor the vendors
//!        allow: the pages the longest list needs, ceil(N / page) x latency
//!        (vendors are read at once; one vendor's pages follow one another).
//!
//! state: starts a throwaway PostgreSQL cluster (roster_mock::pg, tests/mock/src/pg.rs) and, for
//!        N users on Act-On at the mock (no latency, a rate limit far above what
//!        is used, so the vendor is not the bottleneck), times the real binary
//!        with the file state and with `--state postgres://...` in the same run:
//!        `apply --yes` from an empty state (a fresh mock and a fresh state or
//!        database per run), then `plan --format json` against the full state.
//!
//! Options: `plan`, `apply`, `refresh` or `state` (default all), `--plan-users 1000,10000,100000`,
//! `--apply-users 1000,10000`, `--latency-ms 20`, `--batch 500`,
//! `--concurrency 4`, `--rate 5` (requests/s), `--runs 5`, `--baseline-users N`
//! (time the loop on the first N users and scale; default: all of them),
//! `--refresh-users 10000`, `--refresh-latency-ms 200`, `--state-users 10000,100000`.
//! Times are medians over the runs; ratios are taken in the same run. With
//! `ROSTER_BENCH_KEEP=DIR`, plan's files (roster.yaml and its full state) are
//! kept in DIR/N/ for profiling.

use roster::desired;
use roster::model::process_env;
use roster::plan::{self, render, Filter};
use roster::state::{now, RawSpec, Record, State, Status, Store};
use roster_mock as mock;
use roster_mock::pg;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    plan: bool,
    apply: bool,
    refresh: bool,
    state: bool,
    state_users: Vec<usize>,
    refresh_users: Vec<usize>,
    refresh_latency: Duration,
    plan_users: Vec<usize>,
    apply_users: Vec<usize>,
    latency: Duration,
    batch: usize,
    concurrency: usize,
    rate: f64,
    runs: usize,
    baseline_users: Option<usize>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let list = |name: &str, default: &str| -> Vec<usize> {
        value(name)
            .unwrap_or_else(|| default.into())
            .split(',')
            .filter_map(|s| s.trim().replace('_', "").parse().ok())
            .collect()
    };
    let only_plan = args.iter().any(|a| a == "plan");
    let only_apply = args.iter().any(|a| a == "apply");
    let only_refresh = args.iter().any(|a| a == "refresh");
    let only_state = args.iter().any(|a| a == "state");
    let all = !only_plan && !only_apply && !only_refresh && !only_state;
    Options {
        plan: only_plan || all,
        apply: only_apply || all,
        refresh: only_refresh || all,
        state: only_state || all,
        state_users: list("--state-users", "10000,100000"),
        refresh_users: list("--refresh-users", "10000"),
        refresh_latency: Duration::from_millis(
            value("--refresh-latency-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(200),
        ),
        plan_users: list("--plan-users", "1000,10000,100000"),
        apply_users: list("--apply-users", "1000,10000"),
        latency: Duration::from_millis(
            value("--latency-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(20),
        ),
        batch: value("--batch").and_then(|v| v.parse().ok()).unwrap_or(500),
        concurrency: value("--concurrency")
            .and_then(|v| v.parse().ok())
            .unwrap_or(4),
        rate: value("--rate").and_then(|v| v.parse().ok()).unwrap_or(5.0),
        runs: value("--runs")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5)
            .max(1),
        baseline_users: value("--baseline-users").and_then(|v| v.parse().ok()),
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Runs the real binary; its wall time and peak resident memory (KiB), read from
/// the kernel's accounting of that one child.
fn run_roster(dir: &Path, args: &[&str], env: &[(&str, String)]) -> (Duration, i64, i32) {
    run(Path::new(env!("CARGO_BIN_EXE_roster")), dir, args, env)
}

/// Runs `exe` as a child: its wall time, peak resident memory (KiB) and exit code.
///
/// [`run_cpu`] gives its CPU time (user and system) too.
///
/// It is started by a small launcher (this benchmark run again, see [`LAUNCH`]):
/// a child spawned straight from this process, which holds hundreds of MB, would
/// be charged this process's peak as its own (the kernel keeps the larger
/// high-water mark across the `exec`), and every child would seem as large.
fn run(exe: &Path, dir: &Path, args: &[&str], env: &[(&str, String)]) -> (Duration, i64, i32) {
    let (wall, rss, code, _) = run_cpu(exe, dir, args, env);
    (wall, rss, code)
}

fn run_cpu(
    exe: &Path,
    dir: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> (Duration, i64, i32, Duration) {
    let mut cmd = Command::new(std::env::current_exe().expect("the benchmark's own path"));
    cmd.arg(LAUNCH)
        .arg(exe)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the launcher");
    let out = String::from_utf8_lossy(&out.stdout);
    let mut fields = out
        .split_whitespace()
        .map(|f| f.parse::<i64>().expect("a number"));
    let mut next = || fields.next().expect("the launcher's report");
    let (nanos, rss, code, cpu) = (next(), next(), next(), next());
    (
        Duration::from_nanos(nanos as u64),
        rss,
        code as i32,
        Duration::from_micros(cpu as u64),
    )
}

/// The argument that makes this benchmark a launcher: it runs the program that
/// follows (stdout and stderr to /dev/null), reaps it with `wait4`, and prints
/// its wall time (ns), peak resident memory (KiB) and exit code.
const LAUNCH: &str = "--launch-child";

#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its rusage
fn launch(exe: &str, args: &[String]) {
    let start = Instant::now();
    let child = Command::new(exe)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child");
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills in; the pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let cpu = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
    let cpu = cpu(usage.ru_utime) + cpu(usage.ru_stime);
    println!("{} {} {code} {cpu}", elapsed.as_nanos(), usage.ru_maxrss);
}

fn user(i: usize, acton: &str, scim: &str) -> String {
    let role = if i.is_multiple_of(2) {
        "    roles: [admin]\n"
    } else {
        ""
    };
    format!(
        "  - email: user{i:07}@example.com\n    first_name: First{i}\n    last_name: Last{i}\n    title: Engineer\n    password: generate\n{role}    accounts:\n      {acton}: {{ user_type: Marketing, contact_lists: {{ create: true }} }}\n      {scim}: {{ external_id: E-{i} }}\n"
    )
}

fn plan_yaml(n: usize) -> String {
    let mut y = String::with_capacity(n * 260 + 512);
    y.push_str("version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: http://127.0.0.1:9/acton\n    token: ${ACTON_TOKEN}\n  app:\n    kind: scim\n    base_url: http://127.0.0.1:9/scim/v2\n    token: ${SCIM_TOKEN}\nroles:\n  admin:\n    acton: { marketing: { launch: true, admin: true } }\nusers:\n");
    for i in 0..n {
        y.push_str(&user(i, "acton", "app"));
    }
    y
}

fn bench_plan(o: &Options) {
    println!(
        "## plan: N users x 2 vendors (acton + scim), medians of {} runs\n",
        o.runs
    );
    println!("| users | file | bare serde_yaml parse | roster plan, empty state | ratio | roster plan, full state | ratio | CLI plan (full state) | CLI peak RSS |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut processes = Vec::new();
    for &n in &o.plan_users {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("roster.yaml");
        let text = plan_yaml(n);
        std::fs::write(&file, &text).expect("write yaml");
        let runs = if n >= 100_000 { o.runs.min(3) } else { o.runs };

        let bare = time(runs, || {
            serde_yaml::from_str::<serde_yaml::Value>(&text).expect("parse")
        });
        let empty = Store::new(dir.path().join("none.json"));
        let plan_with = |store: &Store| {
            let d = desired::load(&file, &process_env).expect("load");
            let state = store.load().expect("state");
            let p = plan::diff(&d, &state, &Filter::default());
            render::json(&render::View::of(&p)).len()
        };
        let cold = time(runs, || plan_with(&empty));

        // A full state: every pair recorded as created, as after an apply.
        let d = desired::load(&file, &process_env).expect("load");
        let mut state = State::default();
        for (email, u) in &d.users {
            for (vendor, a) in &u.accounts {
                state.set(
                    vendor,
                    email,
                    Record {
                        status: Status::Created,
                        remote_id: Some(email.clone()),
                        at: now(),
                        fingerprint: a.fingerprint.clone(),
                        spec: RawSpec::of(&a.spec_of(&u.profile)),
                        error: None,
                        inactive: false,
                        vendor_status: None,
                        warnings: vec![],
                    },
                );
            }
        }
        drop(d);
        let full = Store::new(dir.path().join("state/roster.state.json"));
        full.save(&mut state).expect("save state");
        drop(state);
        let warm = time(runs, || plan_with(&full));

        let cli: Vec<_> = (0..runs)
            .map(|_| {
                run_roster(
                    dir.path(),
                    &["plan", "-f", "roster.yaml", "--format", "json", "-q"],
                    &[],
                )
            })
            .collect();
        let rss = cli.iter().map(|c| c.1).max().unwrap_or(0);
        let cli_time = median(cli.iter().map(|c| c.0).collect());
        println!(
            "| {n} | {:.1} MB | {} | {} | {:.2}x | {} | {:.2}x | {} | {:.0} MB |",
            text.len() as f64 / 1e6,
            secs(bare),
            secs(cold),
            cold.as_secs_f64() / bare.as_secs_f64(),
            secs(warm),
            warm.as_secs_f64() / bare.as_secs_f64(),
            secs(cli_time),
            rss as f64 / 1024.0
        );
        if let Some(keep) = std::env::var_os("ROSTER_BENCH_KEEP") {
            // For profiling: the generated file and its full state, kept.
            let to = Path::new(&keep).join(n.to_string());
            std::fs::create_dir_all(to.join("state")).expect("ROSTER_BENCH_KEEP");
            for f in ["roster.yaml", "state/roster.state.json"] {
                std::fs::copy(dir.path().join(f), to.join(f)).expect("ROSTER_BENCH_KEEP");
            }
        }
        processes.push((n, text.len(), dir));
    }
    println!();
    plan_against_parse(o, &processes);
}

/// The target of plan's speed, as a user sees it: the real `roster plan` (empty
/// state, JSON to /dev/null) against a process that only reads the same file and
/// parses it with `serde_yaml::from_str::<Value>`, each run in turn in a fresh
/// process, so that the wall time, the CPU time (user and system: steadier than
/// the wall time on a shared machine) and the peak resident memory (the kernel's
/// count for that one child) are compared in the same run.
fn plan_against_parse(o: &Options, files: &[(usize, usize, tempfile::TempDir)]) {
    println!(
        "## plan against a bare parse, one process each, medians of {} runs (peak RSS: the highest)\n",
        o.runs
    );
    println!("| users | file | bare parse: wall / CPU | its peak RSS | roster plan: wall / CPU | its peak RSS | time ratio: wall / CPU | memory ratio | plan, full state: wall / CPU | its peak RSS | time ratio: wall / CPU | memory ratio |");
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let me = std::env::current_exe().expect("the benchmark's own path");
    for (n, size, dir) in files {
        let (mut bare, mut plan, mut full) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..o.runs {
            let b = run_cpu(&me, dir.path(), &[BARE_PARSE, "roster.yaml"], &[]);
            assert_eq!(b.2, 0, "the bare parse failed");
            bare.push(b);
            let p = run_cpu(
                Path::new(env!("CARGO_BIN_EXE_roster")),
                dir.path(),
                &[
                    "plan",
                    "-f",
                    "roster.yaml",
                    "--state",
                    "none.json",
                    "--format",
                    "json",
                    "-q",
                ],
                &[],
            );
            assert_eq!(p.2, 0, "plan failed");
            plan.push(p);
            // As after an apply: every pair recorded (the state bench_plan saved).
            let f = run_cpu(
                Path::new(env!("CARGO_BIN_EXE_roster")),
                dir.path(),
                &["plan", "-f", "roster.yaml", "--format", "json", "-q"],
                &[],
            );
            assert_eq!(f.2, 0, "plan with the full state failed");
            full.push(f);
        }
        type Run = (Duration, i64, i32, Duration);
        let peak = |r: &[Run]| r.iter().map(|c| c.1).max().unwrap_or(0);
        let wall = |r: &[Run]| median(r.iter().map(|c| c.0).collect());
        let cpu = |r: &[Run]| median(r.iter().map(|c| c.3).collect());
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        let against_bare = |r: &[Run]| {
            format!(
                "{} / {} | {:.0} MB | {:.2}x / {:.2}x | {:.2}x",
                secs(wall(r)),
                secs(cpu(r)),
                peak(r) as f64 / 1024.0,
                ratio(wall(r), wall(&bare)),
                ratio(cpu(r), cpu(&bare)),
                peak(r) as f64 / peak(&bare).max(1) as f64,
            )
        };
        println!(
            "| {n} | {:.1} MB | {} / {} | {:.0} MB | {} | {} |",
            *size as f64 / 1e6,
            secs(wall(&bare)),
            secs(cpu(&bare)),
            peak(&bare) as f64 / 1024.0,
            against_bare(&plan),
            against_bare(&full),
        );
    }
    println!();
}

/// The argument that makes this benchmark a child that parses one file bare.
const BARE_PARSE: &str = "--bare-parse-child";

/// N Act-On users, in batches of `o.batch`, `o.concurrency` at a time, at `rate`
/// requests a second.
fn apply_yaml(url: &str, n: usize, o: &Options, rate: f64) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    token: ${{ACTON_TOKEN}}\n    batch_size: {}\n    concurrency: {}\n    rate_limit: {rate}/s\nusers:\n",
        o.batch, o.concurrency
    );
    for i in 0..n {
        y.push_str(&format!(
            "  - email: user{i:07}@example.com\n    first_name: F\n    last_name: L\n    password: generate\n    accounts:\n      acton: {{ user_type: Marketing }}\n"
        ));
    }
    y
}

/// A hand-written script's loop: one user per request, one request at a time.
fn baseline(url: &str, token: &str, n: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let start = Instant::now();
        for i in 0..n {
            let body = serde_json::json!([{
                "userType": "Marketing", "email": format!("loop{i:07}@example.com"),
                "firstName": "F", "lastName": "L", "password": "Passw0rd!x"
            }]);
            let r = client
                .post(format!("{url}/acton/api/1/user"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("send");
            assert!(r.status().is_success());
            let _ = r.bytes().await;
        }
        start.elapsed()
    })
}

fn bench_apply(o: &Options) {
    println!(
        "## apply: Act-On, latency {} ms, batch {}, concurrency {}, rate {}/s\n",
        o.latency.as_millis(),
        o.batch,
        o.concurrency,
        o.rate
    );
    println!("| users | requests | roster apply | floor | ratio to floor | sequential loop | roster speed-up | peak RSS |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &n in &o.apply_users {
        let server = mock::Server::start(mock::Config {
            latency: o.latency,
            ..Default::default()
        });
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("roster.yaml"),
            apply_yaml(&server.url, n, o, o.rate),
        )
        .expect("write yaml");
        let token = server.mock.config.acton_token.clone();
        let (elapsed, rss, code) = run_roster(
            dir.path(),
            &["apply", "--yes", "-q"],
            &[("ACTON_TOKEN", token.clone())],
        );
        assert_eq!(code, 0, "apply failed");
        let requests = server.mock.requests("/acton/").len();
        assert_eq!(server.mock.users("acton").len(), n, "every user created");
        let (b, r, c, l) = (
            o.batch as f64,
            o.rate,
            o.concurrency as f64,
            o.latency.as_secs_f64(),
        );
        let floor = (n as f64 / (b * r)).max(n as f64 * l / (b * c));
        drop(server);

        let sample = o.baseline_users.unwrap_or(n).min(n).max(1);
        let loop_server = mock::Server::start(mock::Config {
            latency: o.latency,
            ..Default::default()
        });
        let measured = baseline(&loop_server.url, &token, sample);
        let scaled = measured.as_secs_f64() * n as f64 / sample as f64;
        let note = if sample < n {
            format!(" ({sample} timed, scaled)")
        } else {
            String::new()
        };
        println!(
            "| {n} | {requests} | {} | {floor:.3} s | {:.2}x | {scaled:.1} s{note} | {:.0}x | {:.0} MB |",
            secs(elapsed),
            elapsed.as_secs_f64() / floor,
            scaled / elapsed.as_secs_f64(),
            rss as f64 / 1024.0
        );
    }
    println!();
}

/// The four vendors that can list: name in roster.yaml, the mock's kind, its
/// settings, the page size roster asks for, and a seeded account.
type Listed = (
    &'static str,
    &'static str,
    fn(&str, &mock::Config) -> String,
    usize,
    fn(usize, &str) -> serde_json::Value,
);

const LISTED: [Listed; 4] = [
    (
        "billing",
        "activeplatform",
        |url, _| format!("base_url: {url}/activeplatform\n    api_token: ${{AP_TOKEN}}"),
        100,
        |i, e| serde_json::json!({"id": 5_000_000 + i, "email": e, "first_name": "F", "last_name": "L", "status": "active"}),
    ),
    (
        "esign",
        "docusign",
        |url, c| {
            format!("base_url: {url}/docusign/restapi\n    account_id: {}\n    token: ${{DOCUSIGN_TOKEN}}", c.docusign_account)
        },
        100,
        |i, e| serde_json::json!({"userId": format!("ds-{i}"), "email": e, "userName": "F L", "userStatus": "active"}),
    ),
    (
        "forms",
        "formsonfire",
        |url, c| {
            format!("base_url: {url}/formsonfire/api/v2\n    company_id: {}\n    integration_key: ${{FOF_KEY}}", c.formsonfire_company)
        },
        250,
        |i, e| serde_json::json!({"Id": format!("fof-{i}"), "Email": e, "Status": "Active"}),
    ),
    (
        "app",
        "scim",
        |url, _| format!("base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}"),
        100,
        |i, e| serde_json::json!({"id": format!("scim-{i}"), "userName": e, "active": true}),
    ),
];

fn bench_refresh(o: &Options) {
    println!(
        "## refresh: N accounts at each of 4 vendors (ActivePlatform, DocuSign, Forms On Fire, SCIM), latency {} ms, medians of {} runs\n",
        o.refresh_latency.as_millis(),
        o.runs
    );
    println!("| accounts per vendor | list requests (AP / DS / FoF / SCIM) | pages of data | roster refresh | floor: longest list's pages x latency | ratio to floor | one GET per user would take |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &n in &o.refresh_users {
        let mut times = Vec::new();
        let mut requests = Vec::new();
        let mut config = mock::Config {
            latency: o.refresh_latency,
            ..Default::default()
        };
        // The server's own cap is no smaller than what roster asks for.
        config.page_cap = 250;
        for _ in 0..o.runs {
            let server = mock::Server::start(config.clone());
            let c = server.mock.config.clone();
            let mut y = String::from("version: 1\nvendors:\n");
            for (name, kind, settings, _, seed) in LISTED {
                y.push_str(&format!(
                    "  {name}:\n    kind: {kind}\n    {}\n    rate_limit: 100/s\n",
                    settings(&server.url, &c)
                ));
                for i in 0..n {
                    let email = format!("user{i:07}@example.com");
                    server.mock.seed(kind, &email, seed(i, &email));
                }
            }
            y.push_str("users:\n");
            for i in 0..n {
                y.push_str(&format!(
                    "  - email: user{i:07}@example.com\n    first_name: F\n    last_name: L\n    password: generate\n    accounts: {{ billing: {{}}, esign: {{}}, forms: {{}}, app: {{}} }}\n"
                ));
            }
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(dir.path().join("roster.yaml"), y).expect("write yaml");
            let env = [
                ("AP_TOKEN", c.activeplatform_token.clone()),
                ("DOCUSIGN_TOKEN", c.docusign_token.clone()),
                ("FOF_KEY", c.formsonfire_key.clone()),
                ("SCIM_TOKEN", c.scim_token.clone()),
            ];
            let (elapsed, _, code) = run_roster(dir.path(), &["refresh", "-q"], &env);
            assert_eq!(code, 0, "refresh failed");
            let state: serde_json::Value = serde_json::from_slice(
                &std::fs::read(dir.path().join("state/roster.state.json")).expect("state"),
            )
            .expect("state is JSON");
            for (name, ..) in LISTED {
                let adopted = state["vendors"][name].as_object().map_or(0, |m| m.len());
                assert_eq!(adopted, n, "{name}: every account adopted");
            }
            times.push(elapsed);
            requests = LISTED
                .iter()
                .map(|(_, kind, ..)| server.mock.reads(&format!("/{kind}/")))
                .collect();
        }
        let pages: Vec<usize> = LISTED.iter().map(|l| n.div_ceil(l.3)).collect();
        let floor = *pages.iter().max().unwrap_or(&0) as f64 * o.refresh_latency.as_secs_f64();
        let elapsed = median(times);
        // Pages follow one another, each at least one latency: a time below
        // the floor means the mock skipped its latency, not a fast roster.
        assert!(
            elapsed.as_secs_f64() >= floor,
            "refresh took {elapsed:?}, below its floor of {floor:.1} s: the mock did not delay its lists"
        );
        let per_user = (4 * n) as f64 * o.refresh_latency.as_secs_f64() / 4.0;
        let show = |v: &[usize]| {
            v.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!(
            "| {n} | {} | {} | {} | {floor:.1} s | {:.2}x | {:.0} s (4 vendors at once) |",
            show(&requests),
            show(&pages),
            secs(elapsed),
            elapsed.as_secs_f64() / floor,
            per_user
        );
    }
    println!();
}

/// Act-On on the mock, batch and concurrency as for apply, a rate limit far above
/// what N users need: the vendor answers at once, so the state is what is timed.
fn bench_state(o: &Options) {
    println!(
        "## state: file against PostgreSQL, Act-On on the mock (no latency, batch {}, concurrency {}, rate 10000/s), medians of {} runs\n",
        o.batch, o.concurrency, o.runs
    );
    println!("| users | state | apply, empty state | plan, full state | peak RSS (apply / plan) | apply PG/file | plan PG/file |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    let server_pg = pg::Pg::start();
    for &n in &o.state_users {
        // (apply, plan, apply RSS, plan RSS) per run, for the file then PostgreSQL.
        let mut results: [Vec<(Duration, Duration, i64, i64)>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..o.runs {
            for (b, out) in results.iter_mut().enumerate() {
                let server = mock::Server::start(mock::Config::default());
                let dir = tempfile::tempdir().expect("temp dir");
                std::fs::write(
                    dir.path().join("roster.yaml"),
                    apply_yaml(&server.url, n, o, 10_000.0),
                )
                .expect("write yaml");
                let mut env = vec![("ACTON_TOKEN", server.mock.config.acton_token.clone())];
                if b == 1 {
                    env.push(("ROSTER_STATE", server_pg.url().to_string()));
                }
                let (apply, apply_rss, code) =
                    run_roster(dir.path(), &["apply", "--yes", "-q"], &env);
                assert_eq!(code, 0, "apply failed");
                assert_eq!(server.mock.users("acton").len(), n, "every user created");
                let (plan, plan_rss, code) =
                    run_roster(dir.path(), &["plan", "--format", "json", "-q"], &env);
                assert_eq!(code, 0, "plan failed");
                // Each backend really held the state: N records, in its own place.
                let file_state = dir.path().join("state/roster.state.json").exists();
                if b == 1 {
                    assert!(!file_state, "no state file with PostgreSQL");
                    let count = server_pg
                        .sql("SELECT count(*) FROM roster_records WHERE status = 'created'");
                    assert_eq!(
                        count[0][0].as_deref(),
                        Some(n.to_string().as_str()),
                        "every record in the database"
                    );
                    // An empty state for the next run; the schema stays, as it
                    // would on a server in use.
                    server_pg.sql(
                        "TRUNCATE roster_records, roster_history, roster_leases, roster_workspaces, roster_budgets",
                    );
                } else {
                    assert!(file_state, "a state file");
                }
                out.push((apply, plan, apply_rss, plan_rss));
            }
        }
        let med = |r: &[(Duration, Duration, i64, i64)]| {
            (
                median(r.iter().map(|x| x.0).collect()),
                median(r.iter().map(|x| x.1).collect()),
                r.iter().map(|x| x.2).max().unwrap_or(0),
                r.iter().map(|x| x.3).max().unwrap_or(0),
            )
        };
        let file = med(&results[0]);
        let pg = med(&results[1]);
        for (name, m) in [("file", file), ("PostgreSQL", pg)] {
            let ratio = |a: Duration, b: Duration| {
                if name == "file" {
                    "1.00x".to_string()
                } else {
                    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
                }
            };
            println!(
                "| {n} | {name} | {} | {} | {:.0} / {:.0} MB | {} | {} |",
                secs(m.0),
                secs(m.1),
                m.2 as f64 / 1024.0,
                m.3 as f64 / 1024.0,
                ratio(m.0, file.0),
                ratio(m.1, file.1),
            );
        }
    }
    println!();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == LAUNCH) {
        return launch(&args[2], &args[3..]);
    }
    if let Some(i) = args.iter().position(|a| a == BARE_PARSE) {
        let text = std::fs::read_to_string(&args[i + 1]).expect("read the file");
        std::hint::black_box(serde_yaml::from_str::<serde_yaml::Value>(&text).expect("parse"));
        return;
    }
    let o = options();
    println!(
        "roster throughput benchmark ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if o.plan {
        bench_plan(&o);
    }
    if o.refresh {
        bench_refresh(&o);
    }
    if o.apply {
        bench_apply(&o);
    }
    if o.state {
        bench_state(&o);
    }
}
