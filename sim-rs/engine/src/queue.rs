//! The timing pass's event queue: one sorted FIFO per fixed service time, a heap for the rest.
//!
//! Keys are unique (time, unit) pairs, and `pop` always returns the smallest key in the queue,
//! so the pop order is exactly that of a plain priority queue: results do not depend on this
//! structure, only the speed does. Why it is faster: most events are completions of units whose
//! service time is fixed (router hops, axon units, tokens), scheduled at `now + d` with `now`
//! never decreasing, so the keys of one service time `d` arrive in order (equal times come
//! together, and are put in unit order on arrival). Those go to a FIFO per `d`; a pop compares
//! the FIFOs' heads and the heap's top instead of sifting a heap of every event.
//!
//! A stored key is `time << shift | event << 4 | class`: the class sits below the event, so it
//! never changes the order of two keys (no two share time and event), and a branch-free minimum
//! over the FIFO heads gives the FIFO to pop too. Keys are `u64` where the chip's events and the
//! sample's longest possible time fit in 64 bits (`shift` just above the largest event), which
//! halves the queue's memory and compares; else `u128` with `shift` = 64. Both order alike.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// At most this many distinct fixed service times get a FIFO; others use the heap.
const MAX_CLASSES: usize = 8;
/// A class not yet looked up (callers cache a unit's class), and the heap's class.
pub(crate) const UNCLASSED: u8 = u8::MAX;
const HEAP: u8 = 15;
const CLASS_BITS: u32 = 4;
/// Events are below 2^60, so that an event and a class fit the key's low 64 bits.
pub(crate) const MAX_EVENT: u64 = (1 << (64 - CLASS_BITS)) - 1;

/// The class of an event whose time varies.
pub(crate) const VARIABLE: u8 = HEAP;

/// A stored key: (time, event, class) packed so that integer order is (time, event) order.
pub(crate) trait Key: Copy + Ord + std::fmt::Debug {
    /// Above every real key (an empty FIFO's head).
    const EMPTY: Self;
    /// The widest `shift` this key type takes.
    const MAX_SHIFT: u32;
    /// `time << shift | low`, where `low < 2^shift`.
    fn pack(time: u64, low: u64, shift: u32) -> Self;
    fn time(self, shift: u32) -> u64;
    /// The low 64 bits, where the event and the class are.
    fn low_word(self) -> u64;
}

impl Key for u64 {
    const EMPTY: Self = u64::MAX;
    const MAX_SHIFT: u32 = 63;
    #[inline(always)]
    fn pack(time: u64, low: u64, shift: u32) -> Self {
        time << shift | low
    }
    #[inline(always)]
    fn time(self, shift: u32) -> u64 {
        self >> shift
    }
    #[inline(always)]
    fn low_word(self) -> u64 {
        self
    }
}

impl Key for u128 {
    const EMPTY: Self = u128::MAX; // no real key: a time of 2^64 - 1 fs is never reached
    const MAX_SHIFT: u32 = 64;
    #[inline(always)]
    fn pack(time: u64, low: u64, _: u32) -> Self {
        (time as u128) << 64 | low as u128
    }
    #[inline(always)]
    fn time(self, _: u32) -> u64 {
        (self >> 64) as u64
    }
    #[inline(always)]
    fn low_word(self) -> u64 {
        self as u64
    }
}

/// The `shift` of 64-bit keys for events below `events` and times up to `max_time`, where
/// both fit (a real key then never reaches `u64::MAX`); None where only 128-bit keys do.
pub(crate) fn narrow_shift(events: u64, max_time: u128) -> Option<u32> {
    let low_bits = (64 - events.saturating_sub(1).leading_zeros()) + CLASS_BITS;
    let time_bits = 128 - max_time.leading_zeros();
    // time < 2^(64 - low_bits - 1): the top bit stays clear, so no key is u64::MAX
    (low_bits + time_bits < 64).then_some(low_bits)
}

pub(crate) struct EventQueue<K: Key> {
    shift: u32,
    /// The event and class bits of a key's low word.
    low_mask: u64,
    durs: Vec<u64>,
    fifos: Vec<Ring<K>>,
    /// Each FIFO's first key (EMPTY when it is empty), scanned on every pop.
    heads: [K; MAX_CLASSES],
    heap: BinaryHeap<Reverse<K>>,
}

impl<K: Key> EventQueue<K> {
    /// A queue of keys `time << shift | event << 4 | class` (`shift` from `narrow_shift` for
    /// `u64`; 64 for `u128`).
    pub(crate) fn new(shift: u32) -> Self {
        assert!(shift <= K::MAX_SHIFT && shift >= CLASS_BITS);
        EventQueue {
            shift,
            low_mask: u64::MAX >> (64 - shift),
            durs: Vec::new(),
            fifos: Vec::new(),
            heads: [K::EMPTY; MAX_CLASSES],
            heap: BinaryHeap::new(),
        }
    }

    /// Schedule `key`, a completion `dur` after the current time; `fixed`: the unit's service
    /// time is always `dur` (its keys then arrive in time order).
    #[cfg(test)]
    pub(crate) fn push(&mut self, time: u64, event: u64, dur: u64, fixed: bool) {
        let class = if fixed { self.class_of(dur) } else { HEAP };
        self.push_in(time, event, class);
    }

    /// Schedule `event` (unique among the events pending at `time`) at `time` in `class`:
    /// `class_of` its fixed service time, or `VARIABLE`.
    #[inline(always)]
    pub(crate) fn push_in(&mut self, time: u64, event: u64, class: u8) {
        debug_assert!(event <= MAX_EVENT && class != UNCLASSED && time != u64::MAX);
        debug_assert!(
            (event << CLASS_BITS).checked_shr(self.shift).unwrap_or(0) == 0
                && K::pack(time, 0, self.shift).time(self.shift) == time,
            "an event or time outside the key (narrow_shift)"
        );
        let key = K::pack(time, (event << CLASS_BITS) | class as u64, self.shift);
        let Some(q) = self.fifos.get_mut(class as usize) else {
            return self.push_heap(key);
        };
        // keys arrive in order except among equal times: most go last, behind an unchanged head
        match q.back() {
            Some(last) if last <= key => q.push_back(key),
            None => {
                q.push_back(key);
                self.heads[class as usize] = key;
            }
            Some(_) => self.insert_sorted(class, key),
        }
    }

    #[inline(never)]
    fn push_heap(&mut self, key: K) {
        self.heap.push(Reverse(key));
    }

    #[inline(never)]
    fn insert_sorted(&mut self, class: u8, key: K) {
        let q = &mut self.fifos[class as usize];
        if q.insert_sorted(key) {
            self.heads[class as usize] = key;
        }
    }

    /// The class of a unit whose service time is always `dur` (the same on every call).
    pub(crate) fn class_of(&mut self, dur: u64) -> u8 {
        if let Some(i) = self.durs.iter().position(|d| *d == dur) {
            return i as u8;
        }
        if self.durs.len() < MAX_CLASSES {
            self.durs.push(dur);
            self.fifos.push(Ring::default());
            return (self.durs.len() - 1) as u8;
        }
        HEAP
    }

    /// Remove and return the earliest (time, event).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, u64)> {
        let h = &self.heads;
        // a branch-free tree of minima (the key carries its FIFO); most chips use at most 4
        let low = h[0].min(h[1]).min(h[2].min(h[3]));
        let best = if self.fifos.len() <= 4 {
            low
        } else {
            low.min(h[4].min(h[5]).min(h[6].min(h[7])))
        };
        let key = match self.heap.peek() {
            Some(&Reverse(k)) if k < best => self.heap.pop().map(|Reverse(k)| k)?,
            _ if best == K::EMPTY => return None,
            _ => {
                let from = (best.low_word() & ((1 << CLASS_BITS) - 1)) as usize;
                let q = &mut self.fifos[from];
                q.pop_front();
                self.heads[from] = q.front().unwrap_or(K::EMPTY);
                best
            }
        };
        Some((
            key.time(self.shift),
            (key.low_word() & self.low_mask) >> CLASS_BITS,
        ))
    }
}

/// A FIFO of keys in a power-of-two ring (the queue's FIFOs pop and push in a tight loop, where
/// `VecDeque`'s general wrap-around costs more than a mask).
struct Ring<K> {
    keys: Vec<K>,
    head: usize,
    len: usize,
}

impl<K: Key> Default for Ring<K> {
    fn default() -> Self {
        Ring {
            keys: vec![K::EMPTY; 16],
            head: 0,
            len: 0,
        }
    }
}

impl<K: Key> Ring<K> {
    #[inline(always)]
    fn mask(&self) -> usize {
        self.keys.len() - 1
    }

    #[inline(always)]
    fn at(&self, i: usize) -> K {
        self.keys[(self.head + i) & self.mask()]
    }

    #[inline(always)]
    fn front(&self) -> Option<K> {
        (self.len > 0).then(|| self.at(0))
    }

    #[inline(always)]
    fn back(&self) -> Option<K> {
        (self.len > 0).then(|| self.at(self.len - 1))
    }

    #[inline(always)]
    fn push_back(&mut self, key: K) {
        if self.len == self.keys.len() {
            self.grow();
        }
        let at = (self.head + self.len) & self.mask();
        self.keys[at] = key;
        self.len += 1;
    }

    #[inline(always)]
    fn pop_front(&mut self) {
        debug_assert!(self.len > 0);
        self.head = (self.head + 1) & self.mask();
        self.len -= 1;
    }

    /// Double the ring, its keys in order from index 0.
    #[cold]
    fn grow(&mut self) {
        let keys: Vec<K> = (0..self.len).map(|i| self.at(i)).collect();
        self.keys = vec![K::EMPTY; 2 * self.keys.len()];
        self.keys[..keys.len()].copy_from_slice(&keys);
        self.head = 0;
    }

    /// Insert `key` into the sorted ring, before its last key (which is larger); true when it
    /// is the new front. Keys at equal times arrive out of unit order (an eighth of pushes), and
    /// usually move past only a few keys.
    #[inline(always)]
    fn insert_sorted(&mut self, key: K) -> bool {
        debug_assert!(self.back().is_some_and(|last| last > key));
        if self.len == self.keys.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut at = self.head + self.len; // one past the last key, not yet wrapped
        loop {
            let prev = self.keys[(at - 1) & mask];
            if prev <= key {
                break;
            }
            self.keys[at & mask] = prev;
            at -= 1;
            if at == self.head {
                break;
            }
        }
        self.keys[at & mask] = key;
        self.len += 1;
        at == self.head
    }
}

#[cfg(test)]
mod tests {
    use super::{narrow_shift, EventQueue, Key, CLASS_BITS};
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 11
    }

    /// A discrete-event pattern: pops advance `now`; pushes land at `now + dur` for a few fixed
    /// service times (more than there are FIFOs) and some variable ones.
    #[test]
    fn pops_in_the_same_order_as_a_binary_heap() {
        // times stay below 3000 rounds x 500: both key widths hold them
        let shift = narrow_shift(1000, 1 << 21).unwrap();
        pops_in_heap_order::<u64>(shift);
        pops_in_heap_order::<u128>(64);
    }

    /// 64-bit keys only where the events and the longest time fit, below `u64::MAX`.
    #[test]
    fn narrow_keys_only_where_they_fit() {
        // 1000 events take 10 bits, the class 4: times of up to 49 bits fit, 50 do not
        assert_eq!(narrow_shift(1000, (1 << 49) - 1), Some(10 + CLASS_BITS));
        assert_eq!(narrow_shift(1000, 1 << 49), None);
        assert_eq!(narrow_shift(1, 1 << 40), Some(CLASS_BITS));
        assert_eq!(narrow_shift(1 << 23, 1 << 62), None);
        let shift = narrow_shift(1000, (1 << 49) - 1).unwrap();
        let largest = u64::pack((1 << 49) - 1, (999 << CLASS_BITS) | 15, shift);
        assert!(largest < u64::EMPTY);
        assert_eq!(largest.time(shift), (1 << 49) - 1);
        assert_eq!((largest & ((1 << shift) - 1)) >> CLASS_BITS, 999);
    }

    fn pops_in_heap_order<K: Key>(shift: u32) {
        for seed in 0..30u64 {
            let mut rng = seed;
            let (mut q, mut heap) = (EventQueue::<K>::new(shift), BinaryHeap::new());
            let (mut now, mut unit, mut popped) = (0u64, 0u64, 0);
            for round in 0..3000u32 {
                for _ in 0..(lcg(&mut rng) % 4) {
                    let fixed = !lcg(&mut rng).is_multiple_of(4);
                    let dur = if fixed {
                        10 * (1 + lcg(&mut rng) % 12)
                    } else {
                        1 + lcg(&mut rng) % 500
                    };
                    unit = (unit + 1 + lcg(&mut rng) % 7) % 1000; // units reused, out of order
                    q.push(now + dur, unit, dur, fixed);
                    heap.push(Reverse((now + dur, unit)));
                }
                if !round.is_multiple_of(3) {
                    let (a, b) = (q.pop(), heap.pop().map(|Reverse(k)| k));
                    assert_eq!(a, b, "seed {seed} round {round}");
                    if let Some((t, _)) = a {
                        now = t;
                        popped += 1;
                    }
                }
            }
            while let Some(Reverse(k)) = heap.pop() {
                assert_eq!(q.pop(), Some(k));
            }
            assert_eq!(q.pop(), None);
            assert!(popped > 1000);
        }
    }
}
