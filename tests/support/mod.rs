//! Test support: a builder that runs the real binary in a temp dir, and the
//! mock vendor server and PostgreSQL cluster (the `roster-mock` crate,
//! tests/mock/) under their old names.

pub use roster_mock as mock;
pub use roster_mock::pg;

use std::path::{Path, PathBuf};
use std::process::Output;

pub use roster_mock::{Config, Server};

/// A temp dir with a roster.yaml, and the real `roster` binary run inside it.
pub struct Test {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> &Test {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `program` run in the temp dir with this test's environment and none of
    /// the developer's (RUST_LOG, a state database), no colour and no stdin.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .env_remove("ROSTER_STATE")
            .env_remove("ROSTER_WORKSPACE")
            .env_remove("PGPASSWORD")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `roster ARGS` in the temp dir (see `command`) and waits for it.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(assert_cmd::cargo::cargo_bin("roster"));
        let output = cmd.args(args).output().expect("run roster");
        Run::from(output)
    }

    /// Starts `roster ARGS` in the temp dir without waiting (to kill it, or race
    /// it), with its output piped.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut cmd = self.command(assert_cmd::cargo::cargo_bin("roster"));
        cmd.args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().expect("spawn roster")
    }

    /// Moves every record's time (`at`) of the state file `secs` into the past,
    /// as if the state had been written that long ago.
    pub fn backdate(&self, secs: u64) {
        let mut state = self.state();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
        let at = serde_json::json!(humantime::format_rfc3339_seconds(then).to_string());
        for records in state["vendors"]
            .as_object_mut()
            .expect("vendors")
            .values_mut()
        {
            for r in records.as_object_mut().expect("records").values_mut() {
                r["at"] = at.clone();
            }
        }
        self.write(
            "state/roster.state.json",
            &serde_json::to_string_pretty(&state).expect("state"),
        );
    }

    /// Who the state's lock file says holds it: `None` when there is no lock
    /// file or it is empty (a finished run leaves it empty).
    pub fn lock_holder(&self) -> Option<serde_json::Value> {
        // Read again while a holder is halfway through writing it.
        for _ in 0..50 {
            let text = std::fs::read_to_string(self.path("state/roster.state.json.lock")).ok()?;
            if text.trim().is_empty() {
                return None;
            }
            if let Ok(holder) = serde_json::from_str(&text) {
                return Some(holder);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the lock file is not JSON")
    }

    /// The recorded state as JSON.
    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("state/roster.state.json")).expect("state is JSON")
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Run {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A roster.yaml for the mock's Act-On at `url`, with `users` (YAML list items).
pub fn acton_yaml(url: &str, users: &str) -> String {
    format!(
        "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    token: ${{ACTON_TOKEN}}\nroles:\n  admin:\n    acton:\n      user_type: Marketing\n      marketing: {{ launch: true, admin: true }}\nusers:\n{users}"
    )
}

/// YAML list items, one Act-On user per email (see `acton_user`).
pub fn acton_users<S: AsRef<str>>(emails: &[S]) -> String {
    emails.iter().map(|e| acton_user(e.as_ref(), "")).collect()
}

/// A YAML list item for one Act-On user.
pub fn acton_user(email: &str, extra: &str) -> String {
    format!(
        "  - email: {email}\n    first_name: First\n    last_name: Last\n    password: generate\n    accounts:\n      acton: {{ user_type: Marketing{extra} }}\n"
    )
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A roster.yaml of `n` users (user00@example.com, ...) on the mock's Act-On
/// (batches of 2) and SCIM (vendor `app`), each vendor with `concurrency`
/// requests in flight and no rate limit to speak of.
pub fn acton_and_scim_yaml(url: &str, n: usize, concurrency: usize) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    token: ${{ACTON_TOKEN}}\n    batch_size: 2\n    concurrency: {concurrency}\n    rate_limit: 1000/s\n  app:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    concurrency: {concurrency}\n    rate_limit: 1000/s\nusers:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  - email: user{i:02}@example.com\n    first_name: U\n    last_name: N\n    password: generate\n    accounts:\n      acton: {{ user_type: Marketing }}\n      app: {{}}\n"
        ));
    }
    y
}

/// A temp dir with [`acton_and_scim_yaml`] as roster.yaml and both credentials
/// in the environment.
pub fn acton_and_scim(server: &Server, n: usize, concurrency: usize) -> Test {
    let c = &server.mock.config;
    let t = Test::new()
        .env("ACTON_TOKEN", &c.acton_token)
        .env("SCIM_TOKEN", &c.scim_token);
    t.write(
        "roster.yaml",
        &acton_and_scim_yaml(&server.url, n, concurrency),
    );
    t
}

/// Serves `app` on 127.0.0.1 (a port of its own) for the life of the test
/// process, on a thread and runtime of its own; its URL. For the small hostile
/// vendors tests write to answer what the stateful mock never would.
pub fn serve(app: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    url
}

/// The PostgreSQL store at `url` in `workspace`, given the process
/// environment, as the binary opens it.
pub fn pg_store(
    url: &str,
    workspace: &str,
    lock_timeout: std::time::Duration,
) -> roster::state::postgres::PgBackend {
    roster::state::postgres::PgBackend::connect(
        url,
        workspace,
        lock_timeout,
        &roster::model::process_env,
    )
    .wait()
    .unwrap()
}

/// The one runtime the tests' store calls run on, as the binary's one: it
/// outlives every store, whose connections and lease renewals it drives.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Awaits a store's call from a test's synchronous code, as a workflow of
/// the binary does: `store.load().wait()`.
pub trait Wait: std::future::Future + Sized {
    fn wait(self) -> Self::Output {
        runtime().block_on(self)
    }
}

impl<F: std::future::Future> Wait for F {}

/// A lock a test holds: released when dropped, the release awaited, as a
/// workflow of the binary releases its own.
pub struct Held(Option<Box<dyn roster::state::LockGuard>>);

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Held")
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(guard) = self.0.take() {
            guard.release().wait();
        }
    }
}

/// Takes a store's lock from a test: `store.hold(&Scope::All, "roster apply")`.
pub trait Hold {
    fn hold(&self, scope: &roster::state::Scope, command: &str) -> roster::state::Result<Held>;
}

impl<B: roster::state::Backend + ?Sized> Hold for B {
    fn hold(&self, scope: &roster::state::Scope, command: &str) -> roster::state::Result<Held> {
        self.lock(scope, command).wait().map(|g| Held(Some(g)))
    }
}

/// A pending Act-On record of `email`, as an apply journals it before sending.
pub fn pending_record(email: &str) -> (String, String, roster::state::Record) {
    (
        "acton".into(),
        email.into(),
        roster::state::Record {
            at: roster::state::now(),
            error: None,
            fingerprint: "sha256:00".into(),
            inactive: false,
            remote_id: None,
            spec: roster::state::RawSpec::of(&serde_json::json!({ "email": email })),
            status: roster::state::Status::Pending,
            vendor_status: None,
            warnings: vec![],
        },
    )
}
