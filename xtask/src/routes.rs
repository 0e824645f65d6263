//! `cargo xtask routes`: a crate's route table, from the macro's own model, without compiling it.
//! `cargo nitrous routes` does the same for any app, finding its `routes!` call; this one takes
//! the call's arguments as flags, for the fixtures.

use std::path::PathBuf;

use crate::Failure;
use nitrous_routes::listing;

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let mut crate_dir: Option<PathBuf> = None;
    let mut call = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| Failure::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--dir" => call.push(format!("dir = {:?}", value("--dir")?)),
            "--prefix" => call.push(format!("prefix = {:?}", value("--prefix")?)),
            flag if flag.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown flag {flag}")));
            }
            path if crate_dir.is_none() => crate_dir = Some(PathBuf::from(path)),
            extra => return Err(Failure::Usage(format!("unexpected argument {extra}"))),
        }
    }
    let crate_dir = crate_dir.unwrap_or_else(|| PathBuf::from("."));
    let input = call
        .join(", ")
        .parse()
        .map_err(|e| Failure::Usage(format!("{e}")))?;
    match listing::list(input, &crate_dir, None) {
        Ok(table) => {
            print!("{table}");
            Ok(())
        }
        Err(e) => Err(Failure::Failed(format!("{}:\n{e}", crate_dir.display()))),
    }
}
