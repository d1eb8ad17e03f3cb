//! Datagrams waiting for their delivery time (delay, jitter, reordering, rate pacing), released
//! in time order and, at equal times, in the order they were scheduled.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

struct Entry<T> {
    at: Duration,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the earliest first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A time-ordered queue of items to send.
pub struct DelayQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

impl<T> Default for DelayQueue<T> {
    fn default() -> Self {
        DelayQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<T> DelayQueue<T> {
    /// Schedules `item` for `at`.
    pub fn push(&mut self, at: Duration, item: T) {
        self.heap.push(Entry {
            at,
            seq: self.next_seq,
            item,
        });
        self.next_seq += 1;
    }

    /// When the earliest item is due.
    pub fn next_due(&self) -> Option<Duration> {
        self.heap.peek().map(|e| e.at)
    }

    /// The earliest item if it is due at `now`.
    pub fn pop_due(&mut self, now: Duration) -> Option<T> {
        if self.heap.peek().is_some_and(|e| e.at <= now) {
            self.heap.pop().map(|e| e.item)
        } else {
            None
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_in_time_then_insertion_order() {
        let mut q = DelayQueue::default();
        q.push(Duration::from_millis(30), "c");
        q.push(Duration::from_millis(10), "a");
        q.push(Duration::from_millis(10), "b");
        assert_eq!(q.next_due(), Some(Duration::from_millis(10)));
        assert_eq!(q.pop_due(Duration::from_millis(5)), None);
        assert_eq!(q.pop_due(Duration::from_millis(10)), Some("a"));
        assert_eq!(q.pop_due(Duration::from_millis(10)), Some("b"));
        assert_eq!(q.pop_due(Duration::from_millis(29)), None);
        assert_eq!(q.pop_due(Duration::from_millis(31)), Some("c"));
        assert!(q.is_empty());
    }
}
