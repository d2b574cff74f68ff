//! Memory management: the virtual memory layout and page tables
//! ([`paging`]), physical frames ([`frame`]), the kernel heap ([`heap`]),
//! per-process kernel stacks ([`kstack`]) and user address spaces ([`uvm`]).

pub mod frame;
pub mod heap;
pub mod kstack;
pub mod paging;
pub mod uvm;
