//! The `latch` command end to end, run as a process against a temp database.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::*;

fn latch(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = latch_cmd(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn latch");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().expect("latch output")
}

fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = latch(dir, args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = latch(dir, args, stdin);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn user_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(
        ok(
            d,
            &["user", "add", "alice", "--staff", "--password-stdin"],
            Some("correct horse battery\n")
        )
        .contains("created user alice")
    );
    ok(
        d,
        &["user", "add", "bob", "--password-stdin"],
        Some("another good passphrase\n"),
    );
    let list = ok(d, &["user", "list"], None);
    assert!(list.contains("alice") && list.contains("bob"), "{list}");

    assert!(
        fails(
            d,
            &["user", "add", "alice", "--password-stdin"],
            Some("correct horse battery\n")
        )
        .contains("already exists")
    );
    assert!(fails(d, &["user", "add", "carol", "--password-stdin"], Some("\n")).contains("empty"));
    assert!(
        fails(
            d,
            &["user", "add", "carol", "--password-stdin"],
            Some("password\n")
        )
        .contains("too common")
    );
    assert!(
        fails(
            d,
            &["user", "passwd", "nobody", "--password-stdin"],
            Some("whatever it is long\n")
        )
        .contains("no user named")
    );
    assert!(fails(d, &["user", "deactivate", "nobody"], None).contains("no user named"));

    // A token from the CLI works against the server, until deactivation.
    let pair: serde_json::Value = serde_json::from_str(&ok(d, &["token", "alice"], None)).unwrap();
    let access = pair["access"].as_str().unwrap();
    let decoded = ok(d, &["decode", access], None);
    assert!(decoded.contains("\"token_type\": \"access\""), "{decoded}");
    assert!(decoded.contains("\"alg\": \"HS256\""), "{decoded}");
    assert!(fails(d, &["decode", "not-a-token"], None).contains("Token is invalid"));

    ok(d, &["user", "deactivate", "bob"], None);
    assert!(
        ok(d, &["user", "list"], None)
            .lines()
            .any(|l| l.contains("bob") && l.contains("false"))
    );
    ok(d, &["user", "activate", "bob"], None);
    ok(
        d,
        &["user", "passwd", "bob", "--password-stdin"],
        Some("a brand new passphrase\n"),
    );
    ok(d, &["user", "delete", "bob"], None);
    assert!(!ok(d, &["user", "list"], None).contains("bob"));
    assert!(ok(d, &["flush-expired"], None).contains("removed"));
}

#[test]
fn help_works_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["session", "--help"],
        vec!["token", "--help"],
        vec!["decode", "--help"],
        vec!["flush-expired", "--help"],
        vec!["serve", "--help"],
    ] {
        let out = ok(dir.path(), &args, None);
        assert!(out.contains("Usage"), "{args:?}");
    }
}

#[test]
fn users_and_key_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // No configured key: latch generates one and keeps it.
    let run = |args: &[&str], stdin: Option<&str>| {
        let out = latch_cmd(d)
            .env_remove("LATCH_SIGNING_KEY")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                if let Some(s) = stdin {
                    c.stdin.take().unwrap().write_all(s.as_bytes())?;
                }
                c.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    run(
        &["user", "add", "alice", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    let pair: serde_json::Value = serde_json::from_str(&run(&["token", "alice"], None)).unwrap();
    // A second process (a restart) verifies the first one's token.
    let decoded = run(&["decode", pair["refresh"].as_str().unwrap()], None);
    assert!(decoded.contains("\"token_type\": \"refresh\""));
    assert!(run(&["user", "list"], None).contains("alice"));
}

#[test]
fn session_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["user", "add", "alice", "--password-stdin"],
        Some("correct horse battery\n"),
    );
    ok(d, &["token", "alice"], None);
    ok(d, &["token", "alice"], None);
    let listed: serde_json::Value =
        serde_json::from_str(&ok(d, &["session", "list", "alice"], None)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(ok(d, &["session", "revoke-all", "alice"], None).contains("revoked 2"));
    let listed: serde_json::Value =
        serde_json::from_str(&ok(d, &["session", "list", "alice"], None)).unwrap();
    assert_eq!(listed, serde_json::json!([]));
}

#[test]
fn the_shell_can_promote_and_demote_but_not_remove_the_last_staff() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["user", "add", "root", "--staff", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    ok(
        d,
        &["user", "add", "bob", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let refused = "the last active staff account";
    assert!(fails(d, &["user", "demote", "root"], None).contains(refused));
    assert!(fails(d, &["user", "deactivate", "root"], None).contains(refused));
    assert!(fails(d, &["user", "delete", "root"], None).contains(refused));
    assert!(ok(d, &["user", "promote", "bob"], None).contains("promoted bob"));
    assert!(ok(d, &["user", "demote", "root"], None).contains("demoted root"));
    let list = ok(d, &["user", "list"], None);
    // bob: active and staff.
    assert!(
        list.lines()
            .any(|l| l.contains("bob") && l.matches("true").count() == 2),
        "{list}"
    );
}

#[test]
fn the_shell_writes_and_reads_the_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let password = format!("{PASSWORD}\n");
    ok(
        d,
        &["user", "add", "root", "--staff", "--password-stdin"],
        Some(&password),
    );
    ok(
        d,
        &["user", "add", "bob", "--password-stdin"],
        Some(&password),
    );
    ok(d, &["user", "deactivate", "bob"], None);
    let all = ok(d, &["audit"], None);
    assert_eq!(all.matches("user_created").count(), 2, "{all}");
    assert!(all.contains("3 of 3 event(s)"), "{all}");
    let bobs = ok(
        d,
        &["audit", "--user", "bob", "--event", "user_changed"],
        None,
    );
    assert!(
        bobs.contains("user=bob") && bobs.contains("1 of 1"),
        "{bobs}"
    );
    assert!(bobs.contains("\"is_active\":false"), "{bobs}");
    let none = ok(
        d,
        &[
            "audit",
            "--since",
            "2000-01-01T00:00:00Z",
            "--event",
            "login_ok",
        ],
        None,
    );
    assert!(none.contains("0 of 0"), "{none}");
    assert!(fails(d, &["audit", "--event", "nonsense"], None).contains("no event named"));

    // Key rotation from the shell is on the trail too.
    let keyed = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = latch_cmd(keyed.path())
            .env_remove("LATCH_SIGNING_KEY")
            .env("LATCH_ALGORITHM", "EdDSA")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    run(&["keys", "rotate", "--now"]);
    let rotated = run(&["audit", "--event", "key_rotated"]);
    assert!(
        rotated.contains("key_rotated") && rotated.contains("1 of 1"),
        "{rotated}"
    );
}
