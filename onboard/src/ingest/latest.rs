//! "Newest frame wins" hand-over between ingest and inference: a crossbeam channel of
//! capacity one where a new frame replaces the one still waiting, and each replaced frame
//! is counted as dropped. Inference therefore never works on a stale frame and never
//! makes ingest wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};

/// Counters shared between the two ends.
#[derive(Debug, Default)]
pub struct LatestCounters {
    /// Items offered by the producer.
    pub sent: AtomicU64,
    /// Items replaced by a newer one before the consumer took them.
    pub dropped: AtomicU64,
}

/// Producer side. Cloning is deliberately not offered: there is one producer.
#[derive(Debug)]
pub struct LatestSender<T> {
    tx: Sender<T>,
    // Kept so the producer can take the stale item out itself.
    rx: Receiver<T>,
    counters: Arc<LatestCounters>,
}

/// A channel of one where the newest item wins; returns both ends and the counters.
pub fn latest<T>() -> (LatestSender<T>, Receiver<T>, Arc<LatestCounters>) {
    let (tx, rx) = bounded(1);
    let counters = Arc::new(LatestCounters::default());
    (
        LatestSender {
            tx,
            rx: rx.clone(),
            counters: counters.clone(),
        },
        rx,
        counters,
    )
}

impl<T> LatestSender<T> {
    /// Offers `item`; a waiting older item is replaced (and counted as dropped).
    /// Returns `false` when the consumer is gone.
    pub fn send(&self, item: T) -> bool {
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        let mut item = item;
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    item = back;
                    match self.rx.try_recv() {
                        Ok(_stale) => {
                            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        // The consumer took it in between: the slot is free now.
                        Err(TryRecvError::Empty) => {}
                        Err(TryRecvError::Disconnected) => return false,
                    }
                }
            }
        }
    }

    /// The shared counters.
    pub fn counters(&self) -> &Arc<LatestCounters> {
        &self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_wins_and_drops_are_counted() {
        let (tx, rx, c) = latest();
        for i in 0..5 {
            assert!(tx.send(i));
        }
        assert_eq!(rx.try_recv().unwrap(), 4);
        assert!(rx.try_recv().is_err());
        assert_eq!(c.sent.load(Ordering::Relaxed), 5);
        assert_eq!(c.dropped.load(Ordering::Relaxed), 4);
        assert!(tx.send(9));
        assert_eq!(rx.recv().unwrap(), 9);
        assert_eq!(c.dropped.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn every_item_is_either_received_or_counted_dropped() {
        let (tx, rx, c) = latest::<u32>();
        let consumer = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = rx.recv() {
                got.push(v);
            }
            got
        });
        for i in 0..20_000 {
            tx.send(i);
        }
        let counters = c.clone();
        drop(tx);
        let got = consumer.join().unwrap();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "order kept");
        assert_eq!(*got.last().unwrap(), 19_999, "the newest item always arrives");
        let dropped = counters.dropped.load(Ordering::Relaxed) as usize;
        assert_eq!(got.len() + dropped, 20_000);
    }
}
