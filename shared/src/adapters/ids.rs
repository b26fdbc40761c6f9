use crate::adapters::SystemClock;
use crate::ports::{Clock, IdGenerator};
use crate::security::random;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// ULIDs: 48 bits of milliseconds then 80 random bits, in 26 Crockford base-32
/// characters. Sort by creation time; unguessable.
#[derive(Debug, Default, Clone, Copy)]
pub struct UlidGenerator;

impl IdGenerator for UlidGenerator {
    fn new_id(&self) -> String {
        let millis = u128::from(u64::try_from(SystemClock.now().millis()).unwrap_or(0));
        let mut entropy = [0u8; 10];
        // The OS generator does not fail on supported platforms; should it,
        // the time part still keeps ids distinct within a process.
        let _ = random::fill(&mut entropy);
        let mut value = millis << 80;
        for (i, byte) in entropy.iter().enumerate() {
            value |= u128::from(*byte) << (8 * (9 - i));
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
        let ids = UlidGenerator;
        let a = ids.new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = ids.new_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(a[..10] <= b[..10], "time prefix sorts");
    }
}
