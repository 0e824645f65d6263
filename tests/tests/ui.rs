//! Every compile error of `routes!` and the handler attributes, with the message a user sees.
//! `TRYBUILD=overwrite cargo test -p nitrous-tests --test ui` rewrites the `.stderr` files.

#[test]
fn compile_errors() {
    // trybuild passes when a glob matches nothing; make sure the cases are really there.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let cases = std::fs::read_dir(&dir)
        .expect("tests/ui exists")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "rs"))
        })
        .count();
    assert!(
        cases >= 12,
        "expected the UI cases in {}, found {cases}",
        dir.display()
    );
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
