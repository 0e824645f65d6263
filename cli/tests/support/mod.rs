//! What the CLI's tests share: the workspace, and how they build apps of their own against it.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root (the parent of `cli/`).
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Where the tests build their generated apps: one folder for all, kept between runs, so the
/// apps' dependencies compile once.
pub(crate) fn apps_target() -> PathBuf {
    workspace().join("target/new-app-test")
}

/// Gives the app at `app` the workspace's lock file, so it builds with `--offline`.
pub(crate) fn pin_versions(app: &Path) {
    std::fs::copy(workspace().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
}
