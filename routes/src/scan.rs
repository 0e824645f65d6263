//! Walks a routes (or middleware) folder in sorted order and reads every file.

use std::path::{Path, PathBuf};

/// A file found under the folder.
#[derive(Debug)]
pub struct Found {
    /// `/`-separated path under the folder: `users/[id].rs`.
    pub rel: String,
    /// The path the generated `#[path]` attribute names.
    pub path: PathBuf,
    /// The file's text, or why it could not be read.
    pub text: Result<String, String>,
}

/// Every file under `root`, the `what` folder (`routes`, `middleware`), sorted by path, skipping
/// names that start with `.` (editor and VCS files). Fails only when `root` itself cannot be
/// walked.
pub fn scan(root: &Path, what: &str) -> Result<Vec<Found>, String> {
    if !root.is_dir() {
        return Err(format!("the {what} folder does not exist"));
    }
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let entry = entry.map_err(|e| format!("cannot read the {what} folder: {e}"))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .map_err(|e| e.to_string())?
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string());
        found.push(Found {
            rel,
            path: entry.path().to_path_buf(),
            text,
        });
    }
    Ok(found)
}

/// Whether the routes folder has an `api/` subfolder (Analog's newer layout: no automatic prefix).
pub fn has_api_folder(root: &Path) -> bool {
    root.join("api").is_dir()
}
