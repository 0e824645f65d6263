//! `cargo xtask routes`: a crate's route table, from the macro's own model, without compiling it.

use std::path::{Path, PathBuf};

use crate::{Failure, args, expand, scan, validate};

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
    if let Some(prefix) = &prefix {
        check_prefix(prefix)?;
    }
    let crate_dir = crate_dir.unwrap_or_else(|| PathBuf::from("."));
    print!("{}", table(&crate_dir, &dir, prefix.as_deref())?);
    Ok(())
}

/// Refuses a prefix that `routes!(prefix = "...")` refuses, with the macro's own message.
fn check_prefix(prefix: &str) -> Result<(), Failure> {
    let literal = syn::LitStr::new(prefix, proc_macro2::Span::call_site());
    syn::parse2::<args::Args>(quote::quote!(prefix = #literal))
        .map(|_| ())
        .map_err(|e| Failure::Usage(format!("--prefix: {e}")))
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
    let (table, errors) = validate::build_table(found, shown_root, &prefix);
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
                        validate::Kind::Sse => nitrous::RouteKind::Sse,
                    },
                    leak(format!("{shown_root}/{}", table.files[endpoint.file].rel)),
                )
            })
        })
        .collect();
    Ok(nitrous::RouteTable::new(Box::leak(rows.into_boxed_slice())).to_string())
}

/// The rows of `static ROUTES: RouteTable = RouteTable::new(&[row, ...])` in a `routes!` expansion:
/// each a `RouteInfo::new(method, path, kind, file)` call.
pub(crate) fn generated_rows(code: proc_macro2::TokenStream) -> Result<Vec<syn::Expr>, Failure> {
    let missing = || Failure::Failed("the expansion has no `ROUTES` table".to_owned());
    let file: syn::File = syn::parse2(code)
        .map_err(|e| Failure::Failed(format!("the expansion does not parse: {e}")))?;
    let routes = file
        .items
        .into_iter()
        .find_map(|item| match item {
            syn::Item::Static(item) if item.ident == "ROUTES" => Some(*item.expr),
            _ => None,
        })
        .ok_or_else(missing)?;
    if let syn::Expr::Call(call) = routes
        && let Some(syn::Expr::Reference(reference)) = call.args.into_iter().next()
        && let syn::Expr::Array(array) = *reference.expr
    {
        return Ok(array.elems.into_iter().collect());
    }
    Err(missing())
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
        let row = |method: &str, path: &str| {
            rows.iter()
                .position(|r| r[..2] == [method, path])
                .unwrap_or_else(|| panic!("no {method} {path} in\n{table}"))
        };
        let show = row("GET", "/api/users/{id}");
        assert_eq!(
            rows[show],
            [
                "GET",
                "/api/users/{id}",
                "http",
                "src/server/routes/users/[id].rs"
            ]
        );
        assert!(row("GET", "/api/users/me") < show, "{table}");
        assert!(show < row("GET", "/api/users/{*rest}"), "{table}");
    }

    /// `ROUTES` as `routes!(state = AppState)` generates it for `crate_dir`, printed by the runtime.
    fn expanded_table(crate_dir: &Path) -> String {
        let context = expand::Context {
            manifest_dir: crate_dir.to_path_buf(),
            call_dir: None,
            build_script: expand::BuildScript::Unknown,
        };
        let code = expand::routes(quote::quote!(state = AppState), &context).unwrap();
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let text = |e: &syn::Expr| match e {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => leak(s.value()),
            other => panic!("not a string: {}", quote::quote!(#other)),
        };
        let rows: Vec<nitrous::RouteInfo> = generated_rows(code)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .iter()
            .map(|row| {
                let syn::Expr::Call(call) = row else {
                    panic!("not a call: {}", quote::quote!(#row))
                };
                let args: Vec<&syn::Expr> = call.args.iter().collect();
                let kind = match args[2] {
                    syn::Expr::Path(kind) => kind.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                let kind = match kind.as_deref() {
                    Some("Http") => nitrous::RouteKind::Http,
                    Some("WebSocket") => nitrous::RouteKind::WebSocket,
                    Some("Sse") => nitrous::RouteKind::Sse,
                    _ => panic!("unknown kind in {}", quote::quote!(#row)),
                };
                nitrous::RouteInfo::new(text(args[0]), text(args[1]), kind, text(args[3]))
            })
            .collect();
        nitrous::RouteTable::new(Box::leak(rows.into_boxed_slice())).to_string()
    }

    #[test]
    fn prints_what_the_generated_routes_display() {
        let fixture = crate::workspace_root().join("tests");
        let printed =
            table(&fixture, expand::DEFAULT_DIR, None).expect("the fixture has no errors");
        assert_eq!(printed, expanded_table(&fixture));
    }

    #[test]
    fn refuses_a_prefix_the_macro_refuses() {
        assert!(check_prefix("/api").is_ok());
        assert!(check_prefix("").is_ok());
        for bad in ["api", "/api/", "/{v}"] {
            assert!(matches!(check_prefix(bad), Err(Failure::Usage(_))), "{bad}");
        }
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
