//! Process-table logic that needs no hardware: pids derived from slots and
//! the intrusive, index-linked lists every scheduler queue is made of.
//!
//! The kernel's PCB table is one zero-filled array; these types are designed
//! so that all-zero bytes are a valid "empty"/"unlinked" value, so the table
//! needs no per-entry initialization at boot (ring 0 can be emulated).

pub mod list;
pub mod pid;
