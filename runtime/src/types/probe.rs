//! Whether a message type has a TypeScript declaration, asked in generated code where the type is
//! concrete (autoref specialisation: `(&&Ts::<T>::new()).declare(bindings)`).

use std::marker::PhantomData;

use ts_rs::TS;

use super::Bindings;

/// The probe for `T`.
#[derive(Debug)]
pub struct Ts<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> Ts<T> {
    /// The probe the generated test asks.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Ts(PhantomData)
    }
}

/// Picked when `T: TS`: its declaration.
pub trait Declared {
    /// `T`'s name in TypeScript.
    fn declare(&self, bindings: &mut Bindings) -> String;
}

impl<T: TS + 'static> Declared for &Ts<T> {
    fn declare(&self, bindings: &mut Bindings) -> String {
        bindings.declare::<T>()
    }
}

/// Picked otherwise: `unknown`.
pub trait Undeclared {
    /// `unknown`, noted.
    fn declare(&self, bindings: &mut Bindings) -> String;
}

impl<T: ?Sized> Undeclared for Ts<T> {
    fn declare(&self, bindings: &mut Bindings) -> String {
        bindings.undeclared(std::any::type_name::<T>())
    }
}
