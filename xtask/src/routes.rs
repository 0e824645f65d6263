//! `cargo xtask routes`: a crate's route table, from the macro's own model, without compiling it.

use std::path::{Path, PathBuf};

use crate::{Failure, expand, scan, validate};

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let mut crate_dir: Option<PathBuf> = None;
    let mut dir = expand::DEFAULT_DIR.to_owned();
    let mut prefix: Option<String> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| Failure::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--dir" => dir = value("--dir")?,
            "--prefix" => prefix = Some(value("--prefix")?),
            flag if flag.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown flag {flag}")));
            }
            path if crate_dir.is_none() => crate_dir = Some(PathBuf::from(path)),
            extra => return Err(Failure::Usage(format!("unexpected argument {extra}"))),
        }
    }
    let crate_dir = crate_dir.unwrap_or_else(|| PathBuf::from("."));
    print!("{}", table(&crate_dir, &dir, prefix.as_deref())?);
    Ok(())
}

/// The route table of the crate at `crate_dir`, as `Display` of its generated `ROUTES` prints it.
pub(crate) fn table(crate_dir: &Path, dir: &str, prefix: Option<&str>) -> Result<String, Failure> {
    let root = crate_dir.join(dir);
    let found =
        scan::scan(&root).map_err(|e| Failure::Failed(format!("{}: {e}", root.display())))?;
    let prefix = match prefix {
        Some(prefix) => prefix.to_owned(),
        None if scan::has_api_folder(&root) => String::new(),
        None => "/api".to_owned(),
    };
    let shown_root = dir.trim_end_matches('/');
    let (table, errors) = validate::validate(found, shown_root, &prefix);
    if !errors.is_empty() {
        let lines: Vec<String> = errors.iter().map(|e| format!("error: {e}")).collect();
        return Err(Failure::Failed(format!(
            "the routes folder has errors:\n{}",
            lines.join("\n")
        )));
    }
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let rows: Vec<nitrous::RouteInfo> = table
        .routes
        .iter()
        .flat_map(|route| {
            route.endpoints.iter().map(|endpoint| {
                nitrous::RouteInfo::new(
                    endpoint.serve.label(),
                    leak(route.path.clone()),
                    match endpoint.kind() {
                        validate::Kind::Http => nitrous::RouteKind::Http,
                        validate::Kind::WebSocket => nitrous::RouteKind::WebSocket,
                    },
                    leak(format!("{shown_root}/{}", table.files[endpoint.file].rel)),
                )
            })
        })
        .collect();
    Ok(nitrous::RouteTable::new(Box::leak(rows.into_boxed_slice())).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_fixture_table_in_match_order() {
        let fixture = crate::workspace_root().join("tests");
        let table = table(&fixture, expand::DEFAULT_DIR, None).expect("the fixture has no errors");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let row =
            |method: &str, path: &str| rows.iter().position(|r| r[0] == method && r[1] == path);
        let show = row("GET", "/api/users/{id}").unwrap_or_else(|| panic!("{table}"));
        assert_eq!(
            rows[show],
            [
                "GET",
                "/api/users/{id}",
                "http",
                "src/server/routes/users/[id].rs"
            ]
        );
        assert!(row("GET", "/api/users/me") < Some(show), "{table}");
        assert!(Some(show) < row("GET", "/api/users/{*rest}"), "{table}");
    }

    #[test]
    fn reports_the_errors_of_a_broken_folder() {
        let fixture = crate::workspace_root().join("macros/fixtures");
        match table(&fixture, "errors/routes", None) {
            Err(Failure::Failed(message)) => {
                assert!(message.contains("serves nothing"), "{message}")
            }
            other => panic!("expected errors, got {other:?}"),
        }
    }
}
