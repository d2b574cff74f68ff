//! Process ids derived from table slots.
//!
//! `pid = generation * capacity + slot + 1`: the slot of a pid is
//! `(pid - 1) % capacity` (O(1) lookup), slot 0 of generation 0 is pid 1
//! (init), and a slot's next occupant gets a pid `capacity` higher, so a pid
//! is not reused until the generation counter wraps (pids stay below
//! [`MAX_PID`], positive as `i32`).

pub use abi::proc::{MAX_PID, Pid};

/// The pid of generation `generation` of slot `slot` in a table of
/// `capacity` slots. The generation wraps so the pid stays below [`MAX_PID`].
pub fn make(generation: u32, slot: usize, capacity: usize) -> Pid {
    let cap = capacity as u64;
    let generations = (MAX_PID - 1) / cap;
    let g = u64::from(generation) % generations.max(1);
    Pid((g * cap + slot as u64 + 1) as u32)
}

/// The slot a pid would live in; `None` for no process.
pub fn slot_of(pid: Pid, capacity: usize) -> Option<usize> {
    abi::proc::slot_of_pid(i64::from(pid.get()), capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_round_trip_and_do_not_repeat() {
        assert_eq!(make(0, 0, 64), Pid::INIT);
        assert_eq!(make(1, 0, 64), Pid(65));
        for cap in [1usize, 64, 1024, 4096] {
            for slot in [0, cap / 2, cap - 1] {
                for g in [0u32, 1, 7, u32::MAX] {
                    let pid = make(g, slot, cap);
                    assert!(!pid.is_none() && u64::from(pid.get()) < MAX_PID);
                    assert_eq!(slot_of(pid, cap), Some(slot));
                }
                assert_ne!(make(0, slot, cap), make(1, slot, cap));
            }
        }
        assert_eq!(slot_of(Pid::NONE, 64), None);
        assert_eq!(slot_of(Pid(u32::MAX), 64), None);
    }
}
