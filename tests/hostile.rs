//! Hostile input and faults: the kernel survives, reports clearly, and
//! loses nothing (usertests' battery, the system-call fuzzer checked from
//! the host, a process's kernel stack running into its guard page).

mod common;
