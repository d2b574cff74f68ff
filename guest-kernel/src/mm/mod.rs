//! Memory management: the virtual memory layout and page tables
//! ([`paging`]), physical frames ([`frame`]) and the kernel heap ([`heap`]).

pub mod frame;
pub mod heap;
pub mod paging;
