//! The GitOps pipeline as shipped in examples/ci: both CI files validated
//! against the GitHub workflow and GitLab CI schemas, and the shell their jobs
//! run (examples/ci/roster-ci.sh, called exactly as the files call it) played
//! against a local bare git repository with the real binary and the mock
//! vendor: plans and comments, reviewed plans applied or re-planned, exit 3,
//! cancels, a killed apply, and two applies racing to push their state.

use crate::support::{acton_user, acton_yaml, Config, Server};
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const GITHUB: &str = "examples/ci/github/roster.yml";
const GITLAB: &str = "examples/ci/gitlab/.gitlab-ci.yml";
const STATE: &str = "state/roster.state.json";

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    serde_yaml::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The `run:` of the step called `name` in a GitHub job.
fn github_run(job: &str, name: &str) -> String {
    let doc = yaml(GITHUB);
    let steps = doc["jobs"][job]["steps"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no steps in job {job}"));
    let step = steps
        .iter()
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step {name:?} in job {job}"));
    step["run"].as_str().expect("a run: string").to_string()
}

/// A GitLab job's whole `script:`, as the runner runs it: one shell.
fn gitlab_script(job: &str) -> String {
    let doc = yaml(GITLAB);
    doc[job]["script"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no script in job {job}"))
        .iter()
        .map(|l| l.as_str().expect("script lines are strings"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The line of a GitLab job's `script:` (or `after_script:`) that holds `needle`.
fn gitlab_line(job: &str, key: &str, needle: &str) -> String {
    let doc = yaml(GITLAB);
    doc[job][key]
        .as_sequence()
        .unwrap_or_else(|| panic!("no {key} in job {job}"))
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in {job}.{key}"))
        .to_string()
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("run git");
    ok(&out, &format!("git {}", args.join(" ")))
}

/// A bare `origin` whose main holds roster.yaml and ci/roster-ci.sh, a seed
/// clone to push changes from, and the real binary on PATH.
struct Repo {
    dir: tempfile::TempDir,
    server: Server,
    bin: PathBuf,
}

impl Repo {
    fn new(config: Config, emails: &[&str]) -> Repo {
        let server = Server::start(config);
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("roster"), bin.join("roster"))
            .unwrap();
        git(dir.path(), &["init", "--quiet", "--bare", "origin.git"]);
        git(dir.path(), &["clone", "--quiet", "origin.git", "seed"]);
        let repo = Repo { dir, server, bin };
        let seed = repo.path("seed");
        std::fs::create_dir_all(seed.join("ci")).unwrap();
        std::fs::copy(
            Path::new(ROOT).join("examples/ci/roster-ci.sh"),
            seed.join("ci/roster-ci.sh"),
        )
        .unwrap();
        repo.commit_users(emails);
        repo
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Pushes a roster.yaml for `emails` to main (a merged pull request).
    fn commit_users(&self, emails: &[&str]) {
        let seed = self.path("seed");
        if !git(&seed, &["ls-remote", "origin", "main"]).is_empty() {
            git(&seed, &["pull", "--quiet", "--rebase", "origin", "main"]);
        }
        let users: String = emails.iter().map(|e| acton_user(e, "")).collect();
        std::fs::write(
            seed.join("roster.yaml"),
            acton_yaml(&self.server.url, &users),
        )
        .unwrap();
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "users"]);
        git(&seed, &["push", "--quiet", "origin", "HEAD:main"]);
    }

    /// A fresh clone of origin, as a CI job checks out.
    fn clone(&self, name: &str) -> PathBuf {
        git(self.dir.path(), &["clone", "--quiet", "origin.git", name]);
        self.path(name)
    }

    fn command(&self, dir: &Path, shell: &str, env: &[(&str, &str)]) -> Command {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        // What GitHub runs a `run:` with; GitLab's shell also stops at errors.
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", shell])
            .current_dir(dir)
            .env("PATH", path)
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("ACTON_TOKEN", &self.server.mock.config.acton_token)
            .env("ROSTER_BRANCH", "main")
            .env("ROSTER_REVIEWED_PLAN", "reviewed/roster.plan")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, dir: &Path, shell: &str, env: &[(&str, &str)]) -> Output {
        self.command(dir, shell, env).output().expect("run bash")
    }

    /// main's state in origin.
    fn main_state(&self) -> serde_json::Value {
        let text = git(
            &self.path("origin.git"),
            &["show", &format!("main:{STATE}")],
        );
        serde_json::from_str(&text).expect("state is JSON")
    }

    fn main_files(&self) -> Vec<String> {
        git(
            &self.path("origin.git"),
            &["ls-tree", "-r", "--name-only", "main"],
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// How many times the mock created each Act-On user.
    fn creations(&self) -> Vec<(String, usize)> {
        self.server
            .mock
            .data()
            .creations
            .iter()
            .map(|((_, email), n)| (email.clone(), *n))
            .collect()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn recorded(state: &serde_json::Value) -> Vec<String> {
    state["vendors"]["acton"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn status(state: &serde_json::Value, email: &str) -> String {
    state["vendors"]["acton"][email]["status"]
        .as_str()
        .unwrap_or("absent")
        .to_string()
}

/// check-jsonschema from PyPI in target/ci-schema-venv; None (with the reason
/// printed) when it cannot be installed.
fn check_jsonschema() -> Option<PathBuf> {
    let venv = Path::new(ROOT).join("target/ci-schema-venv");
    let bin = venv.join("bin/check-jsonschema");
    if bin.exists() {
        return Some(bin);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let made = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    let installed = made
        && Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "check-jsonschema==0.39.0",
            ])
            .status()
            .is_ok_and(|s| s.success());
    if !installed {
        eprintln!("SKIPPED: cannot install check-jsonschema with {python} -m venv and pip");
        return None;
    }
    Some(bin)
}

#[test]
fn both_ci_files_pass_their_platforms_schemas() {
    let Some(checker) = check_jsonschema() else {
        return;
    };
    for (file, schema) in [
        (GITHUB, "vendor.github-workflows"),
        (GITLAB, "vendor.gitlab-ci"),
    ] {
        let out = Command::new(&checker)
            .args(["--builtin-schema", schema])
            .arg(Path::new(ROOT).join(file))
            .output()
            .unwrap();
        ok(&out, &format!("{file} against {schema}"));
    }
    // The checker does catch what GitLab rejects: an unquoted `: ` in a command.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join(".gitlab-ci.yml");
    std::fs::write(
        &bad,
        "job:\n  script:\n    - git commit -m \"roster: record apply state\"\n",
    )
    .unwrap();
    let out = Command::new(&checker)
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
}

/// What an editor checks a roster file against (`examples/roster.schema.json`)
/// accepts the example, with every kind in it, and refuses what `roster
/// validate` refuses of a vendor's settings: another kind's key, a kind's
/// missing key.
#[test]
fn the_roster_schema_takes_each_kinds_settings_and_no_other() {
    let Some(checker) = check_jsonschema() else {
        return;
    };
    let schema = Path::new(ROOT).join("examples/roster.schema.json");
    let check = |path: &Path| {
        Command::new(&checker)
            .arg("--schemafile")
            .arg(&schema)
            .arg(path)
            .output()
            .unwrap()
    };
    let example = Path::new(ROOT).join("examples/roster.yaml");
    ok(&check(&example), "examples/roster.yaml");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.yaml");
    let head = "kind: scim\n    base_url: http://x\n    token: t";
    let ds = "kind: docusign\n    base_url: http://x\n    token: t";
    let ap = "kind: activeplatform\n    base_url: http://x\n    api_token: t";
    for (why, bad, good) in [
        (
            "scim takes no api_token",
            format!("{head}\n    api_token: t"),
            head.to_string(),
        ),
        (
            "docusign needs account_id",
            ds.to_string(),
            format!("{ds}\n    account_id: a"),
        ),
        (
            "a typo",
            format!("{ap}\n    timout: 5s"),
            format!("{ap}\n    timeout: 5s"),
        ),
    ] {
        for (vendor, passes) in [(bad, false), (good, true)] {
            let yaml = format!("version: 1\nvendors:\n  v:\n    {vendor}\nusers: []\n");
            std::fs::write(&file, &yaml).unwrap();
            let out = check(&file);
            assert_eq!(
                out.status.success(),
                passes,
                "{why}:\n{yaml}\n{}",
                text(&out)
            );
        }
    }
}

#[test]
fn the_ci_files_pin_roster_and_their_actions_and_serialize_applies() {
    let gh = yaml(GITHUB);
    let gl = yaml(GITLAB);
    let (gh_text, gl_text) = (read(GITHUB), read(GITLAB));
    // Actions pinned to a full commit, with the version beside it.
    let uses: Vec<&str> = gh_text
        .lines()
        .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix("uses: "))
        .collect();
    assert!(uses.len() >= 5, "{uses:?}");
    for u in &uses {
        let (action, rest) = u.split_once('@').unwrap_or_else(|| panic!("{u}"));
        let (sha, version) = rest
            .split_once(" # v")
            .unwrap_or_else(|| panic!("{u}: no # vX.Y.Z"));
        assert!(action.starts_with("actions/"), "{u}");
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{u}: not a full commit SHA"
        );
        assert!(version.split('.').count() == 3, "{u}");
    }
    // roster installed once, at a pinned version, cached by the platform.
    for text in [&gh_text, &gl_text] {
        assert!(
            text.contains(
                r#"cargo install --locked roster-provision --version "=$ROSTER_VERSION""#
            ),
            "{text}"
        );
    }
    assert_eq!(
        gh["env"]["ROSTER_VERSION"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        gl["variables"]["ROSTER_VERSION"].as_str(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(gh_text.contains("uses: actions/cache@"));
    assert_eq!(
        gl[".roster"]["cache"]["paths"][0].as_str(),
        Some(".roster-bin/")
    );
    // One apply at a time, never cancelled half-way.
    assert_eq!(
        gh["jobs"]["apply"]["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false)
    );
    assert!(gh["jobs"]["apply"]["concurrency"]["group"].is_string());
    assert_eq!(
        gl["roster:apply"]["resource_group"].as_str(),
        Some("roster-apply")
    );
    assert_eq!(gl["roster:apply"]["interruptible"].as_bool(), Some(false));
    // The jobs run the shell this file tests, and push after a cancel.
    assert_eq!(github_run("plan", "Plan"), "bash ci/roster-ci.sh plan");
    assert_eq!(github_run("apply", "Apply"), "bash ci/roster-ci.sh apply");
    assert_eq!(
        gh["jobs"]["apply"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["run"].as_str() == Some("bash ci/roster-ci.sh push"))
            .map(|s| s["if"].as_str()),
        Some(Some("cancelled()"))
    );
    gitlab_line("roster:plan", "script", "bash ci/roster-ci.sh plan");
    gitlab_line("roster:apply", "script", "bash ci/roster-ci.sh apply");
    gitlab_line("roster:apply", "after_script", "bash ci/roster-ci.sh push");
    // The apply step gets what the script needs.
    for key in ["ROSTER_BRANCH", "ROSTER_REVIEWED_PLAN"] {
        let step = gh["jobs"]["apply"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["name"].as_str() == Some("Apply"))
            .unwrap();
        assert!(
            step["env"][key].is_string(),
            "GitHub apply step lacks {key}"
        );
        assert!(
            gl["roster:apply"]["variables"][key].is_string(),
            "GitLab apply job lacks {key}"
        );
    }
}

#[test]
fn the_plan_job_writes_the_comment_artifacts_and_fails_on_a_plan_error() {
    let repo = Repo::new(Config::default(), &["a@example.com"]);
    let pr = repo.clone("pr");
    let sha = git(&pr, &["rev-parse", "HEAD"]).trim().to_string();
    let out = repo.run(&pr, &github_run("plan", "Plan"), &[("ROSTER_COMMIT", &sha)]);
    ok(&out, "plan job");
    let comment = std::fs::read_to_string(pr.join("roster-out/comment.md")).unwrap();
    assert!(comment.starts_with("<!-- roster-plan -->\n"), "{comment}");
    assert!(comment.contains(&format!("`{sha}`")), "{comment}");
    assert!(comment.contains("apply has work"), "{comment}");
    assert!(comment.contains("| create | 1 |"), "{comment}");
    assert!(comment.contains("**Safety:**"), "{comment}");
    assert!(comment.contains("user_type `Marketing`"), "{comment}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pr.join("roster-out/plan.json")).unwrap())
            .unwrap();
    assert_eq!(plan["summary"]["create"], 1);
    assert!(pr.join("roster-out/roster.plan").exists());
    assert!(pr.join("roster-out/plan.md").exists());

    // A broken file: the job fails and the comment carries roster's message.
    // (GitLab's whole script: without ROSTER_BOT_TOKEN it posts no note.)
    std::fs::write(pr.join("roster.yaml"), "version: 1\nusers: 3\n").unwrap();
    let out = repo.run(
        &pr,
        &gitlab_script("roster:plan"),
        &[("ROSTER_COMMIT", &sha)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let comment = std::fs::read_to_string(pr.join("roster-out/comment.md")).unwrap();
    assert!(
        comment.starts_with("<!-- roster-plan -->\n### roster plan failed"),
        "{comment}"
    );
    assert!(comment.contains("roster.yaml"), "{comment}");
    assert!(
        !pr.join("roster-out/roster.plan").exists(),
        "no stale plan left behind"
    );
}

#[test]
fn a_fresh_reviewed_plan_is_applied_and_a_stale_one_replanned() {
    let repo = Repo::new(Config::default(), &["a@example.com"]);
    let apply = github_run("apply", "Apply");
    // The pull request adding b@ is planned...
    let pr = repo.clone("pr");
    let users: String = ["a@example.com", "b@example.com"]
        .iter()
        .map(|e| acton_user(e, ""))
        .collect();
    std::fs::write(pr.join("roster.yaml"), acton_yaml(&repo.server.url, &users)).unwrap();
    ok(&repo.run(&pr, &github_run("plan", "Plan"), &[]), "plan");
    // ...and merged as planned: the apply job finds the plan fresh.
    repo.commit_users(&["a@example.com", "b@example.com"]);
    let job = repo.clone("job1");
    std::fs::create_dir_all(job.join("reviewed")).unwrap();
    std::fs::copy(
        pr.join("roster-out/roster.plan"),
        job.join("reviewed/roster.plan"),
    )
    .unwrap();
    let out = repo.run(&job, &apply, &[]);
    let log = ok(&out, "apply");
    assert!(
        log.contains("applying the plan reviewed on the pull request"),
        "{log}"
    );
    assert!(!log.contains("planning again"), "{log}");
    assert_eq!(
        recorded(&repo.main_state()),
        ["a@example.com", "b@example.com"]
    );

    // A plan reviewed before that apply is stale now: the job plans again.
    let pr2 = repo.clone("pr2");
    let users: String = ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .map(|e| acton_user(e, ""))
        .collect();
    std::fs::write(
        pr2.join("roster.yaml"),
        acton_yaml(&repo.server.url, &users),
    )
    .unwrap();
    ok(&repo.run(&pr2, &github_run("plan", "Plan"), &[]), "plan 2");
    repo.commit_users(&[
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ]);
    let job = repo.clone("job2");
    std::fs::create_dir_all(job.join("reviewed")).unwrap();
    std::fs::copy(
        pr2.join("roster-out/roster.plan"),
        job.join("reviewed/roster.plan"),
    )
    .unwrap();
    let out = repo.run(
        &job,
        &gitlab_line("roster:apply", "script", "roster-ci.sh apply"),
        &[],
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("the desired state changed since it was made"),
        "{log}"
    );
    assert!(log.contains("the reviewed plan was not applied"), "{log}");
    assert!(log.contains("planning again on main"), "{log}");
    assert_eq!(
        recorded(&repo.main_state()),
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com"
        ]
    );
    // Only the state file (and the ignore rules beside it) are committed.
    let files = repo.main_files();
    assert!(files.contains(&STATE.to_string()), "{files:?}");
    assert!(files.contains(&"state/.gitignore".to_string()), "{files:?}");
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with(".lock") || f.ends_with(".journal")),
        "{files:?}"
    );
}

#[test]
fn after_exit_3_the_state_is_pushed_and_the_job_fails() {
    let repo = Repo::new(Config::default(), &["a@example.com", "x@blocked.example"]);
    let job = repo.clone("job");
    let out = repo.run(&job, &github_run("apply", "Apply"), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let state = repo.main_state();
    assert_eq!(status(&state, "a@example.com"), "created");
    assert_eq!(status(&state, "x@blocked.example"), "failed");
    assert!(
        text(&out).contains("what it did is recorded"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_push_that_keeps_failing_fails_the_job_loudly_and_keeps_the_state() {
    let repo = Repo::new(Config::default(), &["a@example.com"]);
    // main refuses every push from now on (a protected branch, say).
    let hook = repo.path("origin.git/hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho protected >&2\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let job = repo.clone("job");
    let out = repo.run(
        &job,
        &github_run("apply", "Apply"),
        &[("ROSTER_PUSH_ATTEMPTS", "2")],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "::error::roster-ci: the state was not pushed to main: the push was rejected 2 times"
        ),
        "{log}"
    );
    let kept: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(job.join("roster-out/unpushed.state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(status(&kept, "a@example.com"), "created");
}

#[test]
fn a_cancelled_apply_still_pushes_what_it_recorded() {
    let config = Config {
        latency: Duration::from_millis(400),
        ..Config::default()
    };
    let emails: Vec<String> = (0..6).map(|i| format!("u{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let repo = Repo::new(config, &refs);
    // One user per request, so that the cancel lands between requests.
    let seed = repo.path("seed");
    let yaml = std::fs::read_to_string(seed.join("roster.yaml"))
        .unwrap()
        .replace(
            "token: ${ACTON_TOKEN}",
            "token: ${ACTON_TOKEN}\n    batch_size: 1\n    concurrency: 1",
        );
    std::fs::write(seed.join("roster.yaml"), yaml).unwrap();
    git(&seed, &["commit", "--quiet", "-am", "one by one"]);
    git(&seed, &["push", "--quiet", "origin", "HEAD:main"]);
    let job = repo.clone("job");
    let child = repo
        .command(&job, &github_run("apply", "Apply"), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Cancel once the first account is created: only the job's shell is signalled.
    let deadline = Instant::now() + Duration::from_secs(30);
    while repo.creations().is_empty() {
        assert!(Instant::now() < deadline, "nothing was created");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(log.contains("Apply interrupted"), "{log}");
    let state = repo.main_state();
    let created: Vec<String> = repo.creations().into_iter().map(|(e, _)| e).collect();
    assert!(created.len() < 6, "the cancel came too late: {created:?}");
    for email in &created {
        assert!(
            ["created", "pending"].contains(&status(&state, email).as_str()),
            "{email} is not in main's state: {state}"
        );
    }
    // The cancelled() step then finds nothing left to push.
    let push = repo.run(&job, "bash ci/roster-ci.sh push", &[]);
    assert!(ok(&push, "push").contains("the state is in main"));
}

#[test]
fn a_killed_apply_leaves_no_lock_or_journal_in_git_and_loses_no_record() {
    let config = Config {
        latency: Duration::from_millis(300),
        ..Config::default()
    };
    let emails: Vec<String> = (0..5).map(|i| format!("k{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let repo = Repo::new(config, &refs);
    let seed = repo.path("seed");
    let yaml = std::fs::read_to_string(seed.join("roster.yaml"))
        .unwrap()
        .replace(
            "token: ${ACTON_TOKEN}",
            "token: ${ACTON_TOKEN}\n    batch_size: 1\n    concurrency: 1",
        );
    std::fs::write(seed.join("roster.yaml"), yaml).unwrap();
    git(&seed, &["commit", "--quiet", "-am", "one by one"]);
    git(&seed, &["push", "--quiet", "origin", "HEAD:main"]);
    let job = repo.clone("job");
    std::fs::create_dir_all(job.join("state")).unwrap();
    let mut roster = repo
        .command(&job, "exec roster apply --yes", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while repo.creations().len() < 2 {
        assert!(Instant::now() < deadline, "nothing was created");
        std::thread::sleep(Duration::from_millis(20));
    }
    roster.kill().unwrap();
    roster.wait().unwrap();
    assert!(job.join("state/roster.state.json.lock").exists());
    assert!(job.join("state/roster.state.json.journal").exists());
    // What the GitLab after_script runs.
    let push = gitlab_line("roster:apply", "after_script", "roster-ci.sh push");
    let out = repo.run(&job, &push, &[]);
    let log = ok(&out, "push");
    assert!(log.contains("folding the journal"), "{log}");
    let files = repo.main_files();
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with(".lock") || f.ends_with(".journal")),
        "{files:?}"
    );
    let state = repo.main_state();
    for (email, _) in repo.creations() {
        assert!(
            ["created", "pending"].contains(&status(&state, &email).as_str()),
            "{email} lost: {state}"
        );
    }
}

/// A `roster` that waits at `apply` until the test says go, so that both jobs
/// have fetched main before either applies.
fn gated_bin(repo: &Repo, name: &str) -> PathBuf {
    let dir = repo.path(&format!("bin-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let gate = repo.path("gate");
    std::fs::create_dir_all(&gate).unwrap();
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = apply ]; then\n  touch '{gate}/ready-{name}'\n  while [ ! -e '{gate}/go' ]; do sleep 0.05; done\nfi\nexec '{real}' \"$@\"\n",
        gate = gate.display(),
        real = assert_cmd::cargo::cargo_bin("roster").display(),
    );
    let path = dir.join("roster");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_racing_applies_both_end_up_in_main() {
    let config = Config {
        latency: Duration::from_millis(150),
        ..Config::default()
    };
    let repo = Repo::new(config, &["one@example.com", "two@example.com"]);
    // main's state records one@ and two@.
    let first = repo.clone("first");
    ok(
        &repo.run(&first, &github_run("apply", "Apply"), &[]),
        "first apply",
    );
    assert_eq!(
        recorded(&repo.main_state()),
        ["one@example.com", "two@example.com"]
    );

    // Merge X (adds three@) starts job A (GitHub's apply step)...
    repo.commit_users(&["one@example.com", "two@example.com", "three@example.com"]);
    let a = repo.clone("a");
    let spawn = |dir: &Path, shell: &str, name: &str| {
        let gated = gated_bin(&repo, name);
        let path = format!(
            "{}:{}",
            gated.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        repo.command(dir, shell, &[("PATH", &path)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let job_a = spawn(&a, &github_run("apply", "Apply"), "a");
    wait_for(&repo.path("gate/ready-a"));
    // ...merge Y lands while A runs (it adds four@ and takes three@ out
    // again), and starts job B (GitLab's): B never hears of three@.
    repo.commit_users(&["one@example.com", "two@example.com", "four@example.com"]);
    let b = repo.clone("b");
    let job_b = spawn(
        &b,
        &gitlab_line("roster:apply", "script", "roster-ci.sh apply"),
        "b",
    );
    wait_for(&repo.path("gate/ready-b"));
    // Both have fetched main; both apply at once.
    std::fs::write(repo.path("gate/go"), "").unwrap();
    let (out_a, out_b) = (
        job_a.wait_with_output().unwrap(),
        job_b.wait_with_output().unwrap(),
    );
    let (log_a, log_b) = (text(&out_a), text(&out_b));
    assert!(out_a.status.success(), "A:\n{log_a}");
    assert!(out_b.status.success(), "B:\n{log_b}");
    // A fetched main before Y: its push was rejected and merged onto Y.
    assert!(log_a.contains("moved on"), "A:\n{log_a}");

    // Each job's own record is in main as that job wrote it: A's three@ (an
    // account it created, now an orphan roster keeps track of) and B's four@.
    let main = repo.main_state();
    assert_eq!(
        recorded(&main),
        [
            "four@example.com",
            "one@example.com",
            "three@example.com",
            "two@example.com"
        ]
    );
    let local = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(STATE)).unwrap()).unwrap()
    };
    let (state_a, state_b) = (local(&a), local(&b));
    let acton = |s: &serde_json::Value, e: &str| s["vendors"]["acton"][e].clone();
    assert_eq!(status(&state_a, "three@example.com"), "created");
    assert_eq!(
        acton(&main, "three@example.com"),
        acton(&state_a, "three@example.com")
    );
    assert_eq!(status(&state_b, "four@example.com"), "created");
    assert_eq!(
        acton(&main, "four@example.com"),
        acton(&state_b, "four@example.com")
    );
    for dir in [&a, &b] {
        for email in recorded(&local(dir)) {
            assert_ne!(
                status(&main, &email),
                "absent",
                "{email} of {} lost",
                dir.display()
            );
        }
    }
    for (email, n) in repo.creations() {
        assert_eq!(n, 1, "{email} created {n} times");
    }
    // Main is consistent: nothing left to apply (three@ is shown as an
    // orphan), and the history has both applies.
    let check = repo.clone("check");
    let plan = repo.run(&check, "roster plan --detailed-exitcode", &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let log = git(&repo.path("origin.git"), &["log", "--format=%s", "main"]);
    assert_eq!(log.matches("roster: state after apply").count(), 3, "{log}");
}
