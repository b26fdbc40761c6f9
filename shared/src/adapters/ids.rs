use std::sync::Mutex;

use ulid::Ulid;

use crate::adapters::SystemClock;
use crate::domain::Timestamp;
use crate::ports::{Clock, IdGenerator};
use crate::security::random;

/// ULIDs (the `ulid` crate's encoding: 48 bits of milliseconds then 80
/// random bits, in 26 Crockford base-32 characters). Sort by creation time;
/// unguessable. Monotonic within a process: ids made in the same millisecond
/// sort in the order they were made. An id asked for an earlier time gets
/// that time, not the newest one's (message ids carry their send time).
#[derive(Debug, Default)]
pub struct UlidGenerator {
    last: Mutex<Option<Ulid>>,
}

impl IdGenerator for UlidGenerator {
    fn new_id(&self) -> String {
        self.new_id_at(SystemClock.now())
    }

    fn new_id_at(&self, at: Timestamp) -> String {
        let millis = u64::try_from(at.millis()).unwrap_or(0);
        let mut entropy = [0u8; 16];
        // The OS generator does not fail on supported platforms; should it,
        // the time part and the monotonic bump still keep ids distinct.
        let _ = random::fill(&mut entropy[6..]);
        let mut id = Ulid::from_parts(millis, u128::from_be_bytes(entropy));
        if let Ok(mut last) = self.last.lock() {
            if let Some(previous) = *last {
                // Same millisecond as the previous id: count up from it instead.
                if previous.timestamp_ms() == id.timestamp_ms() && id <= previous {
                    id = previous.increment().unwrap_or(id);
                }
            }
            *last = Some(id);
        }
        id.to_string()
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
