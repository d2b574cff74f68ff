//! The event ring decoder with arbitrary positions and capacities, the
//! record decoder under it, and what the VMM says of each record.
//!
//! Input: u8 mode, u32 capacity, u64 from, u64 to, then the ring's bytes.
//! An even mode takes the capacity from the bytes' length (so the decoder
//! gets past its length check); an odd one passes the raw capacity.
#![no_main]

use abi::debug::{EVENT_SIZE, Event, EventKind};
use libfuzzer_sys::fuzz_target;
use vmm::introspect::reader::decode_ring;
use vmm::introspect::record::{self, Timebase};
use vmm_fuzz::Input;

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.u8();
    let raw_capacity = input.u32();
    let from = input.u64();
    let to = input.u64();
    let mut ring = input.rest();
    let capacity = if mode % 2 == 0 {
        let cap = (ring.len() / EVENT_SIZE) as u32;
        ring = &ring[..cap as usize * EVENT_SIZE];
        cap
    } else {
        raw_capacity
    };

    let events = decode_ring(ring, capacity, from, to);
    let cap = u64::from(capacity);
    if cap == 0 || ring.len() as u64 != cap * EVENT_SIZE as u64 {
        assert!(events.is_empty());
        return;
    }
    // The newest `cap` records of from..to, in order, each read from its
    // slot.
    let first = from.max(to.saturating_sub(cap));
    assert_eq!(events.len() as u64, to.saturating_sub(first));
    for (e, pos) in events.iter().zip(first..) {
        let i = (pos % cap) as usize * EVENT_SIZE;
        let rec: &[u8; EVENT_SIZE] = ring[i..i + EVENT_SIZE].try_into().unwrap();
        assert_eq!(*e, Event::from_bytes(rec));
    }

    for rec in ring.chunks_exact(EVENT_SIZE) {
        let e = Event::from_bytes(rec.try_into().unwrap());
        assert_eq!(e.tsc.to_le_bytes(), rec[0..8]);
        assert_eq!(e.tick.to_le_bytes(), rec[8..16]);
        assert_eq!(e.pid.to_le_bytes(), rec[16..20]);
        assert_eq!([e.kind, e.old, e.new, e.reason], rec[20..24]);
        assert_eq!(e.arg.to_le_bytes(), rec[24..32]);
        let _ = EventKind::from_raw(e.kind);
    }

    // What the VMM says of a record, whatever it holds: a line, a JSON
    // object (a few records: formatting is slow next to decoding).
    let tb = Timebase {
        boot_tsc: from,
        tsc_khz: u64::from(raw_capacity),
        hz: raw_capacity,
    };
    for e in events.iter().take(4) {
        let _ = (record::describe(e, "x"), record::to_json(e, "x", &tb));
    }
});
