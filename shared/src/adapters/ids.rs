use std::sync::Mutex;

use crate::adapters::SystemClock;
use crate::domain::Timestamp;
use crate::ports::{Clock, IdGenerator};
use crate::security::random;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// ULIDs: 48 bits of milliseconds then 80 random bits, in 26 Crockford base-32
/// characters. Sort by creation time; unguessable. Monotonic within a
/// process: ids made in the same millisecond sort in the order they were made.
#[derive(Debug, Default)]
pub struct UlidGenerator {
    last: Mutex<u128>,
}

impl IdGenerator for UlidGenerator {
    fn new_id(&self) -> String {
        self.new_id_at(SystemClock.now())
    }

    fn new_id_at(&self, at: Timestamp) -> String {
        let millis = u128::from(u64::try_from(at.millis()).unwrap_or(0)) & ((1 << 48) - 1);
        let mut entropy = [0u8; 10];
        // The OS generator does not fail on supported platforms; should it,
        // the time part still keeps ids distinct within a process.
        let _ = random::fill(&mut entropy);
        let mut value = millis << 80;
        for (i, byte) in entropy.iter().enumerate() {
            value |= u128::from(*byte) << (8 * (9 - i));
        }
        if let Ok(mut last) = self.last.lock() {
            // Same millisecond as the previous id: count up from it instead.
            if *last >> 80 == millis && value <= *last {
                value = *last + 1;
            }
            *last = value;
        }
        (0..26)
            .rev()
            .map(|i| CROCKFORD[((value >> (5 * i)) & 0x1f) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_are_unique_and_time_ordered() {
        let ids = UlidGenerator::default();
        let a = ids.new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = ids.new_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(a[..10] <= b[..10], "time prefix sorts");
    }

    #[test]
    fn ids_at_a_time_sort_by_that_time() {
        let ids = UlidGenerator::default();
        let same_ms: Vec<String> = (0..100)
            .map(|_| ids.new_id_at(Timestamp::from_millis(5_000)))
            .collect();
        let mut sorted = same_ms.clone();
        sorted.sort();
        assert_eq!(same_ms, sorted, "monotonic within a millisecond");
        let early = ids.new_id_at(Timestamp::from_millis(1_000));
        let late = ids.new_id_at(Timestamp::from_millis(1_001));
        assert!(early < late);
        assert_eq!(
            early[..10],
            ids.new_id_at(Timestamp::from_millis(1_000))[..10]
        );
    }
}
