//! Why a process could not be started, signalled or read.

use std::fmt;

/// What went wrong, as a sentence that names the program and, where it helps, what it printed.
///
/// Its `Debug` is that sentence too, so a test's `.unwrap()` panics with it as it is.
pub struct Error(String);

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
