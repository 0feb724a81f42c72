//! `math.random` as Redis computes it: the 48-bit linear congruential
//! generator of `lrand48`, from its standard initial state, one sequence for
//! the whole node (SCRIPT FLUSH does not reset it), so scripts get Redis's
//! numbers.

/// The generator's 48-bit state, in three 16-bit words, low first.
#[derive(Clone, Debug)]
pub struct Rand48 {
    x: [u16; 3],
}

impl Default for Rand48 {
    /// `lrand48`'s state before any seeding.
    fn default() -> Rand48 {
        Rand48 {
            x: [0x330E, 0xABCD, 0x1234],
        }
    }
}

const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

impl Rand48 {
    /// `srand48(seed)`: the high 32 bits from the seed, the low 16 fixed.
    pub fn seed(&mut self, seed: i32) {
        let s = seed as u32;
        self.x = [0x330E, (s & 0xFFFF) as u16, (s >> 16) as u16];
    }

    /// `lrand48()`: the next 31-bit value.
    pub fn lrand48(&mut self) -> i32 {
        let x = self.x[0] as u64 | (self.x[1] as u64) << 16 | (self.x[2] as u64) << 32;
        let x = (A.wrapping_mul(x).wrapping_add(C)) & MASK;
        self.x = [x as u16, (x >> 16) as u16, (x >> 32) as u16];
        (x >> 17) as i32
    }

    /// A number in [0, 1), as Redis's `math.random()` makes it.
    pub fn next_unit(&mut self) -> f64 {
        const MAX: i32 = i32::MAX;
        (self.lrand48() % MAX) as f64 / MAX as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_sequence() {
        // What a fresh Redis 7.0 returns for `return tostring(math.random())`
        // twice, and after `math.randomseed(1)`.
        let mut r = Rand48::default();
        assert_eq!(format!("{:.14}", r.next_unit()), "0.39646477363839");
        assert_eq!(format!("{:.14}", r.next_unit()), "0.84048536971234");
        r.seed(1);
        assert_eq!(format!("{:.15}", r.next_unit()), "0.041630344484761");
    }
}
