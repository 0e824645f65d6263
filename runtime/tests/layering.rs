//! The runtime's module graph, read from its sources: which top-level module names which. The hub
//! is a topic engine that knows nothing of transports, so `hub`, `broker`, `sse` and `payload`
//! name nothing in `ws`; the hub names nothing in `sse`; the broker nothing in `hub`; and no two
//! modules name each other, directly or around a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the top-level modules its files name through `crate::`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::<String, BTreeSet<String>>::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if module == "lib" || module == "__private" {
                continue; // the crate root and the door for generated code name everything
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            let names = graph.entry(module.clone()).or_default();
            for line in text.lines().map(str::trim_start) {
                if line.starts_with("//") {
                    continue; // docs may link anywhere
                }
                for (at, _) in line.match_indices("crate::") {
                    let rest = &line[at + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        names.insert(name);
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn the_topic_engine_names_no_transport() {
    let graph = graph();
    for module in ["hub", "broker", "sse", "payload"] {
        let names = &graph[module];
        assert!(!names.contains("ws"), "{module} names ws: {names:?}");
    }
    assert!(!graph["hub"].contains("sse"), "hub names sse");
    assert!(!graph["broker"].contains("hub"), "broker names hub");
    assert!(
        graph["payload"].is_empty(),
        "payload names {:?}",
        graph["payload"]
    );
    // What the check reads is there: ws and sse do use the hub.
    assert!(graph["ws"].contains("hub") && graph["sse"].contains("hub"));
}

#[test]
fn no_modules_name_each_other_in_a_cycle() {
    let graph = graph();
    // Depth-first, with the path so far: a module met again on its own path closes a cycle.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|m| m == module) {
            panic!("a cycle: {} -> {module}", path[at..].join(" -> "));
        }
        if !done.insert(module.to_owned()) {
            return;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}
