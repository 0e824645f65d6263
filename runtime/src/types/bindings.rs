//! [`Bindings`]: the TypeScript declarations a file needs, collected type by type with what each
//! depends on.

use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use ts_rs::{Config, TS, TypeVisitor};

/// The declarations collected so far, by TypeScript name.
pub struct Bindings {
    config: Config,
    declarations: BTreeMap<String, (TypeId, String)>,
    seen: HashSet<TypeId>,
    untyped: BTreeSet<&'static str>,
}

impl std::fmt::Debug for Bindings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bindings")
            .field(
                "declarations",
                &self.declarations.keys().collect::<Vec<_>>(),
            )
            .field("untyped", &self.untyped)
            .finish()
    }
}

impl Default for Bindings {
    fn default() -> Self {
        Bindings {
            // JSON numbers are JavaScript numbers: a u64 is a `number`, never a `bigint`.
            config: Config::new().with_large_int("number"),
            declarations: BTreeMap::new(),
            seen: HashSet::new(),
            untyped: BTreeSet::new(),
        }
    }
}

impl Bindings {
    /// `T`'s name in TypeScript, declaring it and what it depends on.
    pub fn declare<T: TS + 'static>(&mut self) -> String {
        self.visit::<T>();
        T::name(&self.config)
    }

    /// A type without `TS`: `unknown`, noted in the file.
    pub fn undeclared(&mut self, rust_name: &'static str) -> String {
        self.untyped.insert(rust_name);
        "unknown".to_owned()
    }

    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if T::output_path().is_some() {
            let id = TypeId::of::<T::WithoutGenerics>();
            if !self.seen.insert(id) {
                return;
            }
            let name = T::ident(&self.config);
            // Its doc comment (JSDoc), then `export type ...`.
            let declaration = format!(
                "{}export {}",
                T::docs().unwrap_or_default(),
                T::decl(&self.config)
            );
            if let Some((other, _)) = self.declarations.get(&name)
                && *other != id
            {
                panic!(
                    "nitrous types: two Rust types are both `{name}` in TypeScript; rename one (`#[ts(rename = \"..\")]`)"
                );
            }
            self.declarations.insert(name, (id, declaration));
        }
        T::visit_dependencies(&mut Visit(self));
    }

    /// The declarations (`export type ...`, after their doc comments), in name order.
    pub(super) fn declarations(&self) -> impl Iterator<Item = &str> {
        self.declarations.values().map(|(_, d)| d.as_str())
    }

    /// The Rust types that became `unknown`.
    pub(super) fn untyped(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.untyped.iter().copied()
    }
}

struct Visit<'a>(&'a mut Bindings);

impl TypeVisitor for Visit<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.0.visit::<T>();
    }
}
