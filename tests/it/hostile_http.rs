//! Hostile vendors at the HTTP layer: redirects that would carry a creation's
//! body or a credential to another host, or turn a list into an empty one;
//! answers too large or endless; waits of an hour. Each vendor here is a small
//! raw server on 127.0.0.1 that answers exactly the bytes the test chose, and a
//! second one stands for the other host, which must receive nothing.

use crate::support::Test;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request a raw server received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// The request target: path and query.
    target: String,
    body: Vec<u8>,
}

/// What a raw server answers.
enum Answer {
    /// These bytes, then the connection is closed.
    Raw(Vec<u8>),
    /// `head` (a chunked 200), then `first`, then `chunk` every `every` until
    /// `limit` bytes were sent or the client went away.
    Chunked {
        first: Vec<u8>,
        chunk: Vec<u8>,
        every: Duration,
        limit: u64,
    },
}

type Handler = dyn Fn(&Seen) -> Answer + Send + Sync;

/// A raw HTTP server: every request it received, and every connection.
struct Raw {
    url: String,
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

impl Raw {
    fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Raw {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (seen, connections) = (seen.clone(), connections.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (seen, handler) = (seen.clone(), handler.clone());
                    std::thread::spawn(move || serve(stream, &seen, handler.as_ref()));
                }
            });
        }
        Raw {
            url: format!("http://127.0.0.1:{port}"),
            port,
            seen,
            connections,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, seen: &Mutex<Vec<Seen>>, handler: &Handler) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    seen.lock().unwrap().push(request.clone());
    match handler(&request) {
        Answer::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Answer::Chunked {
            first,
            chunk,
            every,
            limit,
        } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let mut write = |data: &[u8]| -> std::io::Result<()> {
                stream.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
                stream.write_all(data)?;
                stream.write_all(b"\r\n")
            };
            let mut sent = 0u64;
            let mut body = || -> std::io::Result<()> {
                write(&first)?;
                while sent < limit {
                    write(&chunk)?;
                    sent += chunk.len() as u64;
                    if !every.is_zero() {
                        std::thread::sleep(every);
                    }
                }
                Ok(())
            };
            if body().is_err() {
                return;
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut tmp).ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut tmp).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Seen {
        method,
        target,
        body,
    })
}

/// A whole answer: status line, JSON body.
fn json_answer(status: &str, body: &Value) -> Answer {
    let body = body.to_string();
    Answer::Raw(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn redirect(status: u16, location: &str) -> Answer {
    Answer::Raw(
        format!(
            "HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
    )
}

/// Where a redirect to `other` points: a path, a query and credentials that
/// no message may show.
fn stealing(other: &Raw) -> String {
    format!(
        "http://thief:pw1@127.0.0.1:{}/steal?leak=q-secret",
        other.port
    )
}

/// Text no output may hold: the parts of [`stealing`] beyond its origin.
const STOLEN: &[&str] = &["thief", "pw1", "steal", "leak", "q-secret"];

/// The other host: it answers as a vendor would (a created account, an empty
/// list), and must never be asked anything.
fn thief() -> Raw {
    Raw::start(|req| {
        if req.method == "POST" {
            json_answer(
                "201 Created",
                &json!({"id": "evil-1", "userName": "u0@example.com", "User": {"Id": "evil-1"},
                        "access_token": "evil-token", "expires_in": 3600}),
            )
        } else {
            json_answer(
                "200 OK",
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                        "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}),
            )
        }
    })
}

fn scim_user(n: usize) -> Value {
    let email = format!("u{n}@example.com");
    json!({
        "id": format!("id-{n}"), "userName": email, "active": true,
        "emails": [{"value": email, "primary": true}],
        "name": {"givenName": "U", "familyName": format!("N{n}")},
    })
}

/// An honest SCIM list of `n` users, in one page.
fn scim_list(n: usize) -> Answer {
    let users: Vec<Value> = (0..n).map(scim_user).collect();
    json_answer(
        "200 OK",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": n, "startIndex": 1, "itemsPerPage": n, "Resources": users}),
    )
}

/// A temp dir whose roster.yaml wants `n` users at the SCIM vendor `scim` on
/// `url`, with `settings` (lines of the vendor block) added.
fn scim_test(url: &str, n: usize, settings: &str) -> Test {
    let mut y = format!(
        "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\n    concurrency: 1\n{settings}users:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  - {{ email: u{i}@example.com, first_name: U, last_name: N, accounts: {{ scim: {{}} }} }}\n"
        ));
    }
    let t = Test::new().env("SCIM_TOKEN", "hostile-token");
    t.write("roster.yaml", &y);
    t
}

/// The records of vendor `vendor` in the state: email to record.
fn records(t: &Test, vendor: &str) -> BTreeMap<String, Value> {
    if !t.exists("state/roster.state.json") {
        return BTreeMap::new();
    }
    t.state()["vendors"][vendor]
        .as_object()
        .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Reads a child's stdout and stderr to their ends, in threads: both, joined.
fn drain(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        format!("{}{text}", out.join().unwrap_or_default())
    })
}

/// Runs `roster ARGS`, killed after `limit`: (exit code, stdout and stderr,
/// how long).
fn run_within(t: &Test, args: &[&str], limit: Duration) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let mut child = t.spawn(args);
    let reader = drain(&mut child);
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, reader.join().unwrap_or_default(), started.elapsed())
}

#[track_caller]
fn assert_shows_nothing_stolen(text: &str) {
    for s in STOLEN {
        assert!(!text.contains(s), "{s:?} shown:\n{text}");
    }
}

#[test]
fn a_creation_redirected_to_another_port_sends_nothing_there_and_stays_pending() {
    for status in [307, 308] {
        let other = thief();
        let location = stealing(&other);
        let vendor = Raw::start(move |req| {
            if req.method == "POST" {
                redirect(status, &location)
            } else {
                json_answer("404 Not Found", &json!({"detail": "no"}))
            }
        });
        let t = scim_test(&vendor.url, 1, "");
        let run = t.run(&["apply", "--yes"]);
        assert_eq!(other.connections(), 0, "{status}: the other host was asked");
        assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        let posts: Vec<_> = vendor
            .seen()
            .into_iter()
            .filter(|s| s.method == "POST")
            .collect();
        assert_eq!(
            posts.len(),
            1,
            "{status}: the creation is sent once, never again"
        );
        let record = &records(&t, "scim")["u0@example.com"];
        assert_eq!(record["status"], "pending", "{status}: {record}");
        assert_ne!(record["remote_id"], "evil-1");
        let error = record["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&format!(
                "HTTP {status} redirect to another origin (http://127.0.0.1:{})",
                other.port
            )),
            "{status}: {error}"
        );
        assert_shows_nothing_stolen(&format!(
            "{}{}{}",
            run.stdout,
            run.stderr,
            t.read("state/roster.state.json")
        ));
    }
}

#[test]
fn a_creation_redirected_within_its_origin_is_not_sent_again() {
    let vendor = Raw::start(|req| {
        if req.method == "POST" && req.target == "/scim/v2/Users" {
            redirect(307, "/scim/v2/Users/again")
        } else {
            json_answer(
                "201 Created",
                &json!({"id": "id-again", "userName": "u0@example.com"}),
            )
        }
    });
    let t = scim_test(&vendor.url, 1, "");
    let run = t.run(&["apply", "--yes"]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let targets: Vec<_> = vendor.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, ["/scim/v2/Users"], "nothing follows the redirect");
    let record = &records(&t, "scim")["u0@example.com"];
    assert_eq!(record["status"], "pending", "{record}");
    let error = record["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("HTTP 307 redirect of a POST: refused, not sent again"),
        "{error}"
    );
}

#[test]
fn a_list_redirected_to_another_host_is_a_failed_read_not_an_empty_list() {
    let other = thief();
    let location = stealing(&other);
    let moved = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let vendor = {
        let moved = moved.clone();
        Raw::start(move |req| {
            if moved.load(Ordering::SeqCst) {
                redirect(302, &location)
            } else if req.target.starts_with("/scim/v2/Users") {
                scim_list(3)
            } else {
                json_answer("404 Not Found", &json!({"detail": "no"}))
            }
        })
    };
    let t = scim_test(&vendor.url, 3, "");
    t.run(&["refresh"]).code(0);
    t.backdate(3600);
    let before = records(&t, "scim");
    assert_eq!(before.len(), 3);
    assert!(
        before.values().all(|r| r["status"] == "adopted"),
        "{before:?}"
    );

    moved.store(true, Ordering::SeqCst);
    let run = t.run(&["refresh"]);
    run.code(3);
    assert_eq!(other.connections(), 0, "the other host was asked");
    assert_eq!(records(&t, "scim"), before, "records unchanged");
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains(&format!(
            "HTTP 302 redirect to another origin (http://127.0.0.1:{})",
            other.port
        )),
        "{}",
        run.stderr
    );
    assert_shows_nothing_stolen(&format!("{}{}", run.stdout, run.stderr));
}

#[test]
fn a_list_redirected_within_its_origin_is_followed_a_few_times() {
    let vendor = Raw::start(|req| {
        if req.target.starts_with("/scim/v2/Users") {
            redirect(302, "/moved/Users?startIndex=1&count=100")
        } else if req.target.starts_with("/moved/Users") {
            scim_list(1)
        } else if req.target.starts_with("/loop/") {
            redirect(307, &format!("/loop/{}", req.target.len()))
        } else {
            json_answer("404 Not Found", &json!({"detail": "no"}))
        }
    });
    let t = scim_test(&vendor.url, 1, "");
    t.run(&["refresh"]).code(0);
    assert_eq!(records(&t, "scim")["u0@example.com"]["status"], "adopted");

    // A redirect that never ends is followed five times, then refused.
    let t = Test::new().env("SCIM_TOKEN", "hostile-token");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {}/loop\n    token: ${{SCIM_TOKEN}}\nusers:\n  - {{ email: u0@example.com, first_name: U, last_name: N, accounts: {{ scim: {{}} }} }}\n",
            vendor.url
        ),
    );
    let before = vendor.seen().len();
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout
            .contains("HTTP 307 redirect: more than 5 redirects in a row: refused"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        vendor.seen().len() - before,
        6,
        "the request and 5 redirects"
    );
}

#[test]
fn a_forms_on_fire_creation_redirected_to_another_host_never_reaches_it() {
    // The integration key rides in every creation's body.
    let other = thief();
    let location = stealing(&other);
    let fof = Raw::start(move |_| redirect(307, &location));
    let t = Test::new().env("FOF_KEY", "fof-key-secret");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  fof:\n    kind: formsonfire\n    base_url: {}/formsonfire/api/v2\n    company_id: 4242\n    integration_key: ${{FOF_KEY}}\nusers:\n  - {{ email: u0@example.com, first_name: U, last_name: N, accounts: {{ fof: {{}} }} }}\n",
            fof.url
        ),
    );
    let run = t.run(&["apply", "--yes"]);
    assert_eq!(other.connections(), 0, "the other host was asked");
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(fof.seen().len(), 1);
    assert_eq!(records(&t, "fof")["u0@example.com"]["status"], "pending");
    assert_shows_nothing_stolen(&format!("{}{}", run.stdout, run.stderr));
}

#[test]
fn a_creation_answered_with_any_3xx_is_never_taken_for_created() {
    // A 300 with a body that looks like a creation, and a 307 with nowhere to go.
    // Each says which it was: no redirect at all, or one with nowhere to go.
    for (answer, said) in [
        ("HTTP/1.1 300 Multiple Choices\r\nContent-Type: application/json\r\nContent-Length: 36\r\nConnection: close\r\n\r\n{\"User\":{\"Id\":\"evil-1\"},\"Id\":\"evil\"}", "HTTP 300: a redirection roster does not follow, not an answer"),
        ("HTTP/1.1 307 Temporary Redirect\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "HTTP 307 redirect without a usable Location: not followed"),
    ] {
        let fof = Raw::start(move |_| Answer::Raw(answer.as_bytes().to_vec()));
        let t = Test::new().env("FOF_KEY", "fof-key-secret");
        t.write(
            "roster.yaml",
            &format!(
                "version: 1\nvendors:\n  fof:\n    kind: formsonfire\n    base_url: {}/formsonfire/api/v2\n    company_id: 4242\n    integration_key: ${{FOF_KEY}}\nusers:\n  - {{ email: u0@example.com, first_name: U, last_name: N, accounts: {{ fof: {{}} }} }}\n",
                fof.url
            ),
        );
        let run = t.run(&["apply", "--yes"]);
        assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        let record = &records(&t, "fof")["u0@example.com"];
        assert_eq!(record["status"], "pending", "{answer:?}: {record}");
        assert_eq!(fof.seen().len(), 1);
        let shown = format!("{}{}{record}", run.stdout, run.stderr);
        assert!(shown.contains(said), "{answer:?}: {shown}");
    }
}

#[test]
fn an_acton_login_redirected_to_another_host_never_reaches_it() {
    // The password grant's login carries client_secret and password.
    let other = thief();
    let location = stealing(&other);
    let acton = Raw::start(move |_| redirect(307, &location));
    let t = Test::new()
        .env("ACTON_SECRET", "acton-client-secret")
        .env("ACTON_PASSWORD", "acton-login-password");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {}/acton\n    client_id: cid\n    client_secret: ${{ACTON_SECRET}}\n    username: bot\n    password: ${{ACTON_PASSWORD}}\nusers:\n  - email: u0@example.com\n    first_name: U\n    last_name: N\n    password: generate\n    accounts:\n      acton: {{ user_type: Marketing }}\n",
            acton.url
        ),
    );
    let run = t.run(&["apply", "--yes"]);
    assert_eq!(other.connections(), 0, "the other host was asked");
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let seen = acton.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, "/acton/token");
    assert!(String::from_utf8_lossy(&seen[0].body).contains("acton-client-secret"));
    assert!(
        run.stderr.contains("HTTP 307 redirect to another origin"),
        "{}",
        run.stderr
    );
    for secret in ["acton-client-secret", "acton-login-password"] {
        assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret));
    }
}

#[test]
fn a_docusign_jwt_assertion_redirected_to_another_host_never_reaches_it() {
    // The signed JWT assertion goes to DocuSign's OAuth host.
    let other = thief();
    let location = stealing(&other);
    let ds = Raw::start(move |_| redirect(308, &location));
    let t = Test::new();
    t.write(
        "keys/ds.pem",
        include_str!("../fixtures/docusign-test-key.pem"),
    );
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  ds:\n    kind: docusign\n    base_url: {url}/docusign/restapi\n    account_id: acc\n    integration_key: ik\n    user_id: uid\n    private_key_file: keys/ds.pem\n    oauth_base_url: {url}/docusign\nusers:\n  - {{ email: u0@example.com, first_name: U, last_name: N, accounts: {{ ds: {{}} }} }}\n",
            url = ds.url
        ),
    );
    let run = t.run(&["apply", "--yes"]);
    assert_eq!(other.connections(), 0, "the other host was asked");
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let seen = ds.seen();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| s.target == "/docusign/oauth/token"),
        "{seen:?}"
    );
    assert!(
        run.stderr.contains("HTTP 308 redirect to another origin"),
        "{}",
        run.stderr
    );
}

/// A SCIM list answer of `size` bytes: an honest list, padded with spaces.
fn padded_list(size: usize) -> Vec<u8> {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1, "startIndex": 1, "itemsPerPage": 1, "Resources": [scim_user(0)]})
    .to_string()
    .into_bytes();
    body.resize(size, b' ');
    body
}

#[test]
fn an_answer_over_max_response_with_its_length_is_refused_unread() {
    let vendor = Raw::start(|_| {
        let body = padded_list(2 << 20);
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend(body);
        Answer::Raw(answer)
    });
    let t = scim_test(&vendor.url, 1, "    max_response: 1MiB\n");
    let run = t.run(&["refresh"]);
    run.code(3);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains(
            "scim: the answer is larger than max_response 1.0 MiB (its Content-Length says 2097152 bytes)"
        ) && out.contains("raise `max_response`"),
        "{out}"
    );
    assert_eq!(vendor.seen().len(), 1, "not read again");
    assert!(records(&t, "scim").is_empty());

    // The same answer under a cap that fits it is read.
    let t = scim_test(&vendor.url, 1, "    max_response: 3MiB\n");
    t.run(&["refresh"]).code(0);
    assert_eq!(records(&t, "scim")["u0@example.com"]["status"], "adopted");
}

/// The start of a list that never ends: then spaces, forever (or `limit` bytes).
fn endless(every: Duration, chunk: usize, limit: u64) -> Answer {
    Answer::Chunked {
        first: br#"{"totalResults":1,"Resources":["#.to_vec(),
        chunk: vec![b' '; chunk],
        every,
        limit,
    }
}

#[test]
fn an_endless_chunked_answer_is_cut_at_max_response() {
    let vendor = Raw::start(|_| endless(Duration::ZERO, 64 << 10, 64 << 20));
    let t = scim_test(&vendor.url, 1, "    timeout: 60s\n");
    let (code, stderr, took) = run_within(&t, &["refresh"], Duration::from_secs(60));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("scim: the answer is larger than max_response 8.0 MiB (more than 8388608 bytes arrived)"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_eq!(vendor.seen().len(), 1, "not read again");
}

#[test]
fn an_endless_slow_answer_ends_at_the_timeout() {
    let vendor = Raw::start(|_| endless(Duration::from_millis(200), 16, u64::MAX));
    let t = scim_test(&vendor.url, 1, "    timeout: 1s\n");
    let (code, stderr, took) = run_within(&t, &["refresh"], Duration::from_secs(60));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    // Five reads of a second each, and the pauses between them.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn an_endless_list_ends_in_an_error_with_memory_flat() {
    // Fast, and ended by the server only past 384 MiB: a roster that read it
    // whole would hold all of it.
    let vendor = Raw::start(|_| endless(Duration::ZERO, 256 << 10, 384 << 20));
    let t = scim_test(&vendor.url, 1, "    timeout: 60s\n");
    let mut child = t.spawn(&["refresh"]);
    let pid = child.id() as libc::pid_t;
    let reader = drain(&mut child);
    // A watchdog: a roster that never ends is killed (the pid stays ours until
    // reaped below).
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let done = done.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if started.elapsed() > Duration::from_secs(90) {
                    // SAFETY: kill(2) on our own unreaped child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for this child only.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, Ordering::SeqCst);
    assert_eq!(reaped, pid);
    let stderr = reader.join().unwrap_or_default();
    // Linux counts ru_maxrss in KiB.
    let max_rss_mib = usage.ru_maxrss / 1024;
    eprintln!("max RSS of roster reading an endless list: {max_rss_mib} MiB");
    assert!(max_rss_mib < 256, "max RSS {max_rss_mib} MiB");
    assert!(libc::WIFEXITED(status), "killed: {stderr}");
    assert_eq!(libc::WEXITSTATUS(status), 3, "{stderr}");
    assert!(stderr.contains("larger than max_response"), "{stderr}");
}

#[test]
fn a_wait_longer_than_max_wait_stops_at_once_and_says_when_to_run_again() {
    let throttled = || {
        Answer::Raw(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
        )
    };
    let vendor = Raw::start(move |_| throttled());
    let t = scim_test(&vendor.url, 2, "    max_wait: 2s\n");
    let (code, stderr, took) = run_within(&t, &["refresh"], Duration::from_secs(30));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        stderr.contains(
            "scim asked to wait 1h (Retry-After); more than max_wait 2s: stopped; re-run after "
        ),
        "{stderr}"
    );
    assert_eq!(vendor.seen().len(), 1, "asked once, never again");

    // An apply stops the vendor's work: the first creation is throttled, the
    // second is never sent; both are recorded as not created, with the reason.
    let before = vendor.seen().len();
    let (code, stderr, took) = run_within(&t, &["apply", "--yes"], Duration::from_secs(30));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let posts = vendor.seen()[before..]
        .iter()
        .filter(|s| s.method == "POST")
        .count();
    assert_eq!(posts, 1, "the second creation is not sent");
    let records = records(&t, "scim");
    assert_eq!(records.len(), 2);
    for (email, r) in &records {
        assert_eq!(r["status"], "failed", "{email}: {r}");
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("asked to wait 1h (Retry-After); more than max_wait 2s: stopped"),
            "{email}: {error}"
        );
    }
}

#[test]
fn a_docusign_hourly_quota_spent_stops_its_work_at_once_rather_than_wait_the_hour() {
    // The creation succeeds and says the hourly quota is spent, its reset 50
    // minutes off: the answer is kept, the next creation is not sent.
    let vendor = Raw::start(|req| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let n = req.body.len(); // a different id for each user
        let body = json!({"newUsers": [{"userId": format!("ds-{n}"), "email": "u0@example.com", "userStatus": "active"}]})
            .to_string();
        Answer::Raw(
            format!(
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-RateLimit-Limit: 3000\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                now + 3000,
                body.len()
            )
            .into_bytes(),
        )
    });
    let t = Test::new().env("DS_TOKEN", "ds-token");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  ds:\n    kind: docusign\n    base_url: {}/docusign/restapi\n    account_id: acc\n    token: ${{DS_TOKEN}}\n    batch_size: 1\n    concurrency: 1\nusers:\n  - {{ email: u0@example.com, first_name: U, last_name: N, accounts: {{ ds: {{}} }} }}\n  - {{ email: u1@example.com, first_name: U, last_name: N, accounts: {{ ds: {{}} }} }}\n",
            vendor.url
        ),
    );
    let (code, out, took) = run_within(&t, &["apply", "--yes"], Duration::from_secs(30));
    assert_eq!(code, Some(3), "{out}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(vendor.seen().len(), 1, "the second creation is not sent");
    let records = records(&t, "ds");
    assert_eq!(records["u0@example.com"]["status"], "created");
    let second = &records["u1@example.com"];
    assert_eq!(second["status"], "failed", "{second}");
    let error = second["error"].as_str().unwrap_or_default();
    assert!(
        (error.starts_with("ds asked to wait 49m") || error.starts_with("ds asked to wait 50m "))
            && error.contains("(rate-limit reset); more than max_wait 5m: stopped; re-run after "),
        "{error}"
    );
}

#[test]
fn a_long_wait_within_max_wait_is_announced_then_waited() {
    // A wait of a second is waited without a word; one over five seconds is said.
    for (seconds, announced) in [(6u64, true), (1, false)] {
        let asked = Arc::new(AtomicUsize::new(0));
        let vendor = {
            let asked = asked.clone();
            Raw::start(move |req| {
                if !req.target.starts_with("/scim/v2/Users") {
                    return json_answer("404 Not Found", &json!({"detail": "no"}));
                }
                if asked.fetch_add(1, Ordering::SeqCst) == 0 {
                    Answer::Raw(
                        format!("HTTP/1.1 429 Too Many Requests\r\nRetry-After: {seconds}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .into_bytes(),
                    )
                } else {
                    scim_list(1)
                }
            })
        };
        let t = scim_test(&vendor.url, 1, "");
        let started = Instant::now();
        let run = t.run(&["refresh"]);
        run.code(0);
        assert!(started.elapsed() >= Duration::from_secs(seconds));
        let said = format!("scim: the vendor asked to wait {seconds}s (Retry-After); waiting");
        assert_eq!(run.stderr.contains(&said), announced, "{}", run.stderr);
        assert_eq!(
            run.stderr.contains("asked to wait"),
            announced,
            "{}",
            run.stderr
        );
        assert_eq!(records(&t, "scim")["u0@example.com"]["status"], "adopted");
    }
}
