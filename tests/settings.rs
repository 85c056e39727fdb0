//! Settings: defaults < Rocket.toml < LATCH_ variables; bad values named.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn config(
    dir: &std::path::Path,
    toml: Option<&str>,
    env: &[(&str, &str)],
) -> Result<Value, String> {
    if let Some(text) = toml {
        std::fs::write(dir.join("Rocket.toml"), text).unwrap();
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latch"));
    cmd.current_dir(dir).arg("config");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

#[test]
fn defaults_then_file_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let defaults = config(d, None, &[]).unwrap();
    assert_eq!(defaults["access_token_lifetime"], 300);
    assert_eq!(defaults["refresh_token_lifetime"], 86400);
    assert_eq!(defaults["database"], "latch.db");
    assert_eq!(defaults["algorithm"], "HS256");
    assert_eq!(defaults["registration"], "closed");
    assert_eq!(defaults["argon2_memory_kib"], 19456);
    assert_eq!(defaults["jwks_max_age"], 600);
    assert_eq!(defaults["key_rotation_interval"], 0);
    assert_eq!(defaults["user_id_claim"], "user_id");

    let toml = "[default.latch]\naccess_token_lifetime = \"10m\"\nrefresh_token_lifetime = \"2d\"\nleeway = 5\n";
    let file = config(d, Some(toml), &[]).unwrap();
    assert_eq!(file["access_token_lifetime"], 600);
    assert_eq!(file["refresh_token_lifetime"], 172800);
    assert_eq!(file["leeway"], 5);

    let env = config(
        d,
        None,
        &[
            ("LATCH_ACCESS_TOKEN_LIFETIME", "1h"),
            ("LATCH_REGISTRATION", "open"),
        ],
    )
    .unwrap();
    assert_eq!(env["access_token_lifetime"], 3600, "env beats the file");
    assert_eq!(
        env["refresh_token_lifetime"], 172800,
        "file still beats the default"
    );
    assert_eq!(env["registration"], "open");

    // A key made only of digits stays a string; it is never printed.
    let digits = "1".repeat(40);
    let keyed = config(d, None, &[("LATCH_SIGNING_KEY", &digits)]).unwrap();
    assert_eq!(keyed["signing_key"], "<set, not shown>");
}

#[test]
fn bad_values_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            "LATCH_ACCESS_TOKEN_LIFETIME",
            "soon",
            "access_token_lifetime",
        ),
        ("LATCH_ACCESS_TOKEN_LIFETIME", "0", "access_token_lifetime"),
        ("LATCH_SIGNING_KEY", "too-short", "signing_key"),
        // RS256 and the other asymmetric names are valid since key sets.
        ("LATCH_ALGORITHM", "none", "algorithm"),
        ("LATCH_ALGORITHM", "ES512", "algorithm"),
        ("LATCH_USER_ID_CLAIM", "exp", "user_id_claim"),
        ("LATCH_JWKS_MAX_AGE", "soon", "jwks_max_age"),
        ("LATCH_REGISTRATION", "maybe", "registration"),
        ("LATCH_ARGON2_MEMORY_KIB", "1", "argon2_memory_kib"),
        ("LATCH_NO_SUCH_SETTING", "1", "no_such_setting"),
    ];
    for (var, value, key) in cases {
        let err = config(d, None, &[(var, value)]).unwrap_err();
        assert!(err.contains(key), "{var}={value}: {err}");
    }
    let err = config(d, Some("[default.latch]\nleeway = \"abc\"\n"), &[]).unwrap_err();
    assert!(err.contains("leeway"), "{err}");
}

#[test]
fn a_bad_setting_stops_the_server_launch() {
    let dir = tempfile::tempdir().unwrap();
    let out = latch_cmd(dir.path())
        .env("LATCH_SIGNING_KEY", "short")
        .env("ROCKET_PORT", free_port().to_string())
        .env("ROCKET_LOG_LEVEL", "normal")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("signing_key"), "{text}");
}
