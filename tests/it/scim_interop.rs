//! SCIM interoperability with an implementation nobody here wrote: the PyPI
//! package `scim2-server`, installed into a virtualenv under target/ on first use
//! and started on a free loopback port with a bearer token.

use crate::support::Test;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PACKAGE: &str = "scim2-server==0.8.3";
const TOKEN: &str = "interop-bearer-token";

/// target/scim2-venv/bin/scim2-server, installed if missing.
fn scim2_server() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/scim2-venv");
    let bin = venv.join("bin/scim2-server");
    if bin.exists() {
        return bin;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot create a virtualenv with {python} -m venv");
    let ok = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", PACKAGE])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot pip install {PACKAGE}");
    bin
}

struct ScimServer {
    child: Child,
    port: u16,
}

impl ScimServer {
    fn start() -> ScimServer {
        let bin = scim2_server();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                TOKEN,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scim2-server");
        let server = ScimServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.get("/v2/ServiceProviderConfig").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "scim2-server did not come up on port {port}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    /// One HTTP/1.1 request; the status and body (0 if nothing answers).
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(req.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, "")
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn roster_provisions_an_independent_scim_server() {
    let server = ScimServer::start();
    // A user that existed before roster.
    let (status, _) = server.request(
        "POST",
        "/v2/Users",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"before@example.com"}"#,
    );
    assert_eq!(status, 201);

    let t = Test::new().env("SCIM_TOKEN", TOKEN);
    let mut yaml = format!(
        "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: http://127.0.0.1:{}/v2\n    token: ${{SCIM_TOKEN}}\nusers:\n",
        server.port
    );
    for (email, block) in [
        ("ada@example.com", "{ external_id: E-1 }"),
        ("grace@example.com", "{ user_name: grace, active: true }"),
        ("before@example.com", "{}"),
    ] {
        yaml.push_str(&format!(
            "  - email: {email}\n    first_name: F\n    last_name: L\n    title: Engineer\n    phone: \"+1 555 0100\"\n    password: generate\n    accounts:\n      app: {block}\n"
        ));
    }
    t.write("roster.yaml", &yaml);

    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    assert!(
        run.stdout.contains("Apply: 2 created, 1 adopted, 0 failed"),
        "{}",
        run.stdout
    );
    let state = t.state();
    let (_, listed) = server.get("/v2/Users?filter=userName%20eq%20%22before%40example.com%22");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        state["vendors"]["app"]["before@example.com"]["remote_id"], listed["Resources"][0]["id"],
        "the existing user is adopted with the server's id"
    );
    let (_, grace) = server.get("/v2/Users?filter=userName%20eq%20%22grace%22");
    let grace: serde_json::Value = serde_json::from_str(&grace).unwrap();
    assert_eq!(grace["totalResults"], 1);
    assert_eq!(
        state["vendors"]["app"]["grace@example.com"]["remote_id"],
        grace["Resources"][0]["id"]
    );
    assert_eq!(
        grace["Resources"][0]["emails"][0]["value"],
        "grace@example.com"
    );

    // Re-run: nothing to do, nothing sent, the server still holds three users.
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    assert!(run.stdout.contains("Nothing to apply"), "{}", run.stdout);
    let (_, all) = server.get("/v2/Users");
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all["totalResults"], 3, "{all}");
}
