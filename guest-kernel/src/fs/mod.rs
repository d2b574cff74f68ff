//! Files: the tree of directories and files (built from the initrd the
//! programs come from), open files and pipes.
//!
//! Nothing here knows processes: a call that must wait takes the
//! scheduler as a [`crate::sync::Sleeper`].

pub mod file;
pub mod initrd;
pub mod pipe;
pub mod vfs;

pub use logic::fs::{path, tree};
