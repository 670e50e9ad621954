//! A real PostgreSQL server for the tests: a throwaway cluster started from the
//! installed server binaries (initdb + pg_ctl in a temp dir, on a free port on
//! 127.0.0.1), stopped when dropped. When running as root the cluster runs as
//! the `postgres` user (the server refuses root), through `runuser`.
//!
//! With ROSTER_TEST_DATABASE_URL set, no cluster is started: each `Pg` gets a
//! fresh database on that server instead (dropped when done), and the tests that
//! restart the server are skipped.
//!
//! The binaries are looked up in ROSTER_TEST_PG_BIN, then the newest
//! /usr/lib/postgresql/*/bin (Debian's layout), then PATH.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The password of the cluster's superuser: a test greps logs, errors and the
/// database for it to show it never leaks.
pub const PASSWORD: &str = "pg-test-secret-7f3a9c";

/// A PostgreSQL server (or database) of one test's own; see the module.
pub struct Pg {
    url: String,
    cluster: Option<Cluster>,
    /// With ROSTER_TEST_DATABASE_URL: the server's URL, and the database made
    /// for this test (dropped with it).
    external: Option<(String, String)>,
}

struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    /// Serves TLS with a self-signed certificate for 127.0.0.1 (`cert.pem`).
    tls: bool,
}

impl Pg {
    /// A server of its own for one test.
    pub fn start() -> Pg {
        if let Ok(url) = std::env::var("ROSTER_TEST_DATABASE_URL") {
            if !url.trim().is_empty() {
                return Pg::external(url.trim());
            }
        }
        Pg::cluster(false)
    }

    /// A server of its own that also speaks TLS, with a certificate for
    /// 127.0.0.1 signed by a CA of its own (`cert()`), made by the `openssl`
    /// command.
    pub fn start_tls() -> Pg {
        Pg::cluster(true)
    }

    /// The CA that signed the certificate a TLS cluster serves.
    pub fn cert(&self) -> PathBuf {
        self.cluster
            .as_ref()
            .expect("a cluster of its own")
            .dir
            .path()
            .join("ca.pem")
    }

    fn cluster(tls: bool) -> Pg {
        let bin = binaries().unwrap_or_else(|| {
            panic!(
                "the PostgreSQL server binaries (initdb, pg_ctl) are not installed: install \
                 Debian's `postgresql` package (.ci/run does), set ROSTER_TEST_PG_BIN to their \
                 folder, or set ROSTER_TEST_DATABASE_URL to a server the tests may create \
                 databases on"
            )
        });
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("roster-pg-")
            .tempdir()
            .expect("temp dir");
        if as_postgres {
            chown_postgres(dir.path());
        }
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{PASSWORD}\n")).expect("write pwfile");
        if as_postgres {
            chown_postgres(&pwfile);
        }
        let data = dir.path().join("data");
        run(
            as_postgres,
            Command::new(bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-sync",
                    "--no-instructions",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ])
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        );
        if tls {
            // A CA, and a server certificate for 127.0.0.1 signed by it.
            let d = dir.path();
            std::fs::write(
                d.join("san.ext"),
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
            )
            .expect("write san.ext");
            let openssl = |args: &[&str]| {
                let out = Command::new("openssl")
                    .current_dir(d)
                    .args(args)
                    .output()
                    .expect("run openssl (the TLS test needs the openssl command)");
                assert!(
                    out.status.success(),
                    "openssl {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=roster test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ]);
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "key.pem",
                "-out",
                "server.csr",
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                "cert.pem",
            ]);
            let key = dir.path().join("key.pem");
            std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod key");
            if as_postgres {
                chown_postgres(&key);
                chown_postgres(&dir.path().join("cert.pem"));
            }
        }
        let mut cluster = Cluster {
            dir,
            bin,
            port: 0,
            as_postgres,
            tls,
        };
        // A free port can be taken between finding and binding it: try again.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    let url = format!(
                        "postgres://postgres:{PASSWORD}@127.0.0.1:{}/postgres",
                        cluster.port
                    );
                    return Pg {
                        url,
                        cluster: Some(cluster),
                        external: None,
                    };
                }
                Err(e) => last = e,
            }
        }
        panic!("cannot start a PostgreSQL cluster: {last}");
    }

    fn external(server: &str) -> Pg {
        let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
        sql_on(server, &format!("CREATE DATABASE {name}"));
        let url = with_database(server, &name);
        Pg {
            url,
            cluster: None,
            external: Some((server.to_string(), name)),
        }
    }

    /// The URL of this test's database, with its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this test owns the server (so may stop and restart it).
    pub fn owns_server(&self) -> bool {
        self.cluster.is_some()
    }

    /// Runs SQL (simple protocol, several statements allowed) and returns every
    /// row's columns as text (NULL as None).
    pub fn sql(&self, query: &str) -> Vec<Vec<Option<String>>> {
        sql_on(&self.url, query)
    }

    /// Stops the server at once (as a crash would), waiting until it is down.
    pub fn stop(&self) {
        let c = self
            .cluster
            .as_ref()
            .expect("stop needs a cluster of its own");
        run(
            c.as_postgres,
            Command::new(c.bin.join("pg_ctl"))
                .arg("-D")
                .arg(c.data())
                .args(["-m", "immediate", "-w", "stop"]),
            "pg_ctl stop",
        );
    }

    /// Starts a stopped server again on the same port.
    pub fn start_again(&self) {
        let c = self
            .cluster
            .as_ref()
            .expect("start needs a cluster of its own");
        c.pg_ctl_start()
            .unwrap_or_else(|e| panic!("cannot start the cluster again: {e}"));
    }

    /// The server's log so far (empty for an external server).
    pub fn log(&self) -> String {
        self.cluster
            .as_ref()
            .map(|c| std::fs::read_to_string(c.dir.path().join("log")).unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        if self.tls {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c log_connections=on",
                self.dir.path().join("cert.pem").display(),
                self.dir.path().join("key.pem").display()
            ));
        }
        let out = command(
            self.as_postgres,
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.path().join("log"))
                .args(["-w", "-t", "60", "-o", &options, "start"]),
        )
        .output()
        .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl start: {}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
            ))
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(c) = &self.cluster {
            let _ = command(
                c.as_postgres,
                Command::new(c.bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(c.data())
                    .args(["-m", "immediate", "-w", "stop"]),
            )
            .output();
        }
        if let Some((server, name)) = &self.external {
            let _ = try_sql_on(
                server,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// The folder holding initdb and pg_ctl, if they are installed.
fn binaries() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("ROSTER_TEST_PG_BIN").map(PathBuf::from) {
        return has(&dir).then_some(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| has(d))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has(d))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn postgres_ids() -> (u32, u32) {
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .expect("run id");
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| {
        panic!("running as root, the cluster runs as the `postgres` user, and there is none (install Debian's postgresql package)")
    });
    let out = Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .expect("run id");
    let gid = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("postgres gid");
    (uid, gid)
}

fn chown_postgres(path: &Path) {
    let (uid, gid) = postgres_ids();
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

/// `cmd`, run as the postgres user when `as_postgres`.
fn command(as_postgres: bool, cmd: &Command) -> Command {
    let mut out = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd.get_program());
        c
    } else {
        Command::new(cmd.get_program())
    };
    out.args(cmd.get_args());
    // Out of the way of whatever folder the test runs in (postgres may not read it).
    out.current_dir("/");
    out
}

fn run(as_postgres: bool, cmd: &mut Command, what: &str) {
    let out = command(as_postgres, cmd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `url` with its database replaced by `name` (the query kept): how a test
/// gets a database of its own on the server of ROSTER_TEST_DATABASE_URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn sql_on(url: &str, query: &str) -> Vec<Vec<Option<String>>> {
    try_sql_on(url, query).unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn try_sql_on(url: &str, query: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let (client, connection) = tokio::time::timeout(
            Duration::from_secs(30),
            tokio_postgres::connect(url, tokio_postgres::NoTls),
        )
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
        let conn = tokio::spawn(connection);
        let messages = client
            .simple_query(query)
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) => format!("{}: {}", db.code().code(), db.message()),
                None => e.to_string(),
            })?;
        drop(client);
        let _ = conn.await;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    })
}
