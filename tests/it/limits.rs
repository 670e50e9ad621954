//! The executor stays within what each vendor allows: batch size, requests in
//! flight, request rate, and it slows down when told to. Timing is only ever
//! asserted as a lower bound, which a slow machine cannot break.

use crate::support::mock::Fault;
use crate::support::{Config, Server, Test};
use std::time::Duration;

fn users(n: usize, block: &str) -> String {
    (0..n)
        .map(|i| format!("  - email: u{i:03}@example.com\n    first_name: U\n    last_name: N\n    password: generate\n    accounts:\n      v: {block}\n"))
        .collect()
}

fn run(server: &Server, vendor: &str, n: usize, block: &str) -> Test {
    let c = &server.mock.config;
    let t = Test::new()
        .env("ACTON_TOKEN", &c.acton_token)
        .env("SCIM_TOKEN", &c.scim_token);
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  v:\n{vendor}users:\n{}",
            users(n, block)
        ),
    );
    t.run(&["apply", "--yes"]).code(0);
    t
}

#[test]
fn batches_and_requests_in_flight_stay_within_the_settings() {
    let server = Server::start(Config {
        latency: Duration::from_millis(100),
        ..Config::default()
    });
    let vendor = format!(
        "    kind: acton\n    base_url: {}/acton\n    token: ${{ACTON_TOKEN}}\n    batch_size: 4\n    concurrency: 3\n    rate_limit: 1000/s\n",
        server.url
    );
    run(&server, &vendor, 50, "{ user_type: Sales }");
    let requests = server.mock.requests("/acton/");
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body)
                .unwrap()
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 50);
    assert!(sizes.iter().all(|s| *s <= 4), "batches {sizes:?}");
    assert_eq!(requests.len(), 13, "50 users in batches of 4");
    let max = server.mock.data().max_in_flight["acton"];
    assert!(max <= 3, "{max} requests in flight, concurrency is 3");
    assert!(max >= 2, "the requests did run concurrently ({max})");
}

#[test]
fn the_request_rate_stays_within_the_limit() {
    let server = Server::start(Config::default());
    let vendor = format!(
        "    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    concurrency: 8\n    rate_limit: 10/s\n",
        server.url
    );
    run(&server, &vendor, 30, "{}");
    let at: Vec<_> = server
        .mock
        .requests("/scim/")
        .iter()
        .filter_map(|r| r.at)
        .collect();
    assert_eq!(at.len(), 30);
    // 10 a second: any 6 consecutive requests span at least half a second, less
    // what a busy machine adds when the mock's threads take up requests late and
    // together (a limiter twice too fast would span 250 ms, none at all ~0).
    for w in at.windows(6) {
        let span = w[5] - w[0];
        assert!(
            span >= Duration::from_millis(400),
            "6 requests within {span:?} at 10/s"
        );
    }
}

#[test]
fn a_429_holds_every_request_until_retry_after() {
    let server = Server::start(Config {
        latency: Duration::from_millis(200),
        ..Config::default()
    });
    server.mock.data().faults.push_back(Fault::Refuse {
        status: 429,
        retry_after: Some(2),
    });
    let vendor = format!(
        "    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    concurrency: 3\n    rate_limit: 1000/s\n",
        server.url
    );
    let t = run(&server, &vendor, 6, "{}");
    let at: Vec<_> = server
        .mock
        .requests("/scim/")
        .iter()
        .filter_map(|r| r.at)
        .collect();
    assert_eq!(at.len(), 7, "six users and the one retry");
    let first = at[0];
    let early = at
        .iter()
        .filter(|a| **a - first < Duration::from_millis(1900))
        .count();
    assert!(
        early <= 3,
        "{early} requests went out during the 2 s the vendor asked for"
    );
    assert!(*at.last().unwrap() - first >= Duration::from_secs(2));
    assert_eq!(server.mock.users("scim").len(), 6);
    assert!(t.state()["vendors"]["v"]
        .as_object()
        .unwrap()
        .values()
        .all(|r| r["status"] == "created"));
}
