//! A Python with real Django, Django REST Framework, Simple JWT and the
//! extras the interop tests need (PyJWT with `cryptography` for key sets,
//! `argon2-cffi` and `bcrypt` for Django's hashers): `.ci/run`'s venv, or one
//! made once under `target/`, from PyPI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the venv must hold; `.ci/run` installs the same list.
pub const PACKAGES: [&str; 6] = [
    "Django>=4.2,<6",
    "djangorestframework",
    "djangorestframework-simplejwt==5.5.*",
    "PyJWT[crypto]>=2.8",
    "argon2-cffi",
    "bcrypt",
];

const IMPORTS: &str = "import django, rest_framework_simplejwt, jwt, cryptography, argon2, bcrypt";

pub fn django_python() -> PathBuf {
    if let Ok(p) = std::env::var("INTEROP_PYTHON")
        && complete(Path::new(&p))
    {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for venv in [root.join(".ci/venv"), root.join("target/interop-venv")] {
        let py = venv.join("bin/python");
        if complete(&py) {
            return py;
        }
    }
    let venv = root.join("target/interop-venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed");
    let py = venv.join("bin/python");
    let installed = Command::new(&py)
        .args(["-m", "pip", "install", "-q"])
        .args(PACKAGES)
        .status();
    assert!(
        installed.is_ok_and(|s| s.success()) && complete(&py),
        "pip install of {PACKAGES:?} failed"
    );
    py
}

fn complete(py: &Path) -> bool {
    Command::new(py)
        .args(["-c", IMPORTS])
        .output()
        .is_ok_and(|o| o.status.success())
}
