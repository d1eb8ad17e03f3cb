//! Where to send a message for a vehicle over UDP: every address that vehicle's system id was
//! heard from. On one machine (or behind a router) the autopilot and the companion computer are
//! different UDP peers that share a system id; a command for the companion computer (e.g.
//! UTKIK_AUTHZ_COMMAND) must reach it even when the autopilot spoke last. This is what
//! mavlink-router and MAVProxy do: targeted messages go to every endpoint that has seen the
//! target system; receivers ignore what is not for their component.

use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Most addresses remembered per system id (a peer that keeps changing port must not grow it).
pub const MAX_ADDRS_PER_SYSTEM: usize = 8;

/// System id -> the UDP addresses it was heard from, most recent last.
#[derive(Debug, Default, Clone)]
pub struct Routes {
    by_system: BTreeMap<u8, Vec<SocketAddr>>,
}

impl Routes {
    /// A frame of `system_id` arrived from `from`.
    pub fn seen(&mut self, system_id: u8, from: SocketAddr) {
        let addrs = self.by_system.entry(system_id).or_default();
        if let Some(i) = addrs.iter().position(|a| *a == from) {
            let a = addrs.remove(i);
            addrs.push(a);
        } else {
            addrs.push(from);
            if addrs.len() > MAX_ADDRS_PER_SYSTEM {
                addrs.remove(0);
            }
        }
    }

    /// Every system id a route is known for (the drones the 1 Hz GCS HEARTBEAT goes to).
    pub fn systems(&self) -> impl Iterator<Item = u8> + '_ {
        self.by_system.keys().copied()
    }

    /// Where a message for `system_id` goes: every address it was heard from; for a system never
    /// heard (or 0, broadcast) every known address, else the last peer.
    pub fn targets(&self, system_id: u8, last_peer: Option<SocketAddr>) -> Vec<SocketAddr> {
        if let Some(a) = self.by_system.get(&system_id).filter(|_| system_id != 0) {
            return a.clone();
        }
        let mut all: Vec<SocketAddr> = self.by_system.values().flatten().copied().collect();
        all.sort();
        all.dedup();
        if all.is_empty() {
            all.extend(last_peer);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_command_reaches_every_peer_of_its_system_not_only_the_last_one() {
        let mut r = Routes::default();
        r.seen(1, addr(40001)); // companion computer
        r.seen(1, addr(40000)); // autopilot, spoke last
        r.seen(2, addr(40002));
        r.seen(1, addr(40000));
        assert_eq!(r.targets(1, Some(addr(40000))), vec![addr(40001), addr(40000)]);
        assert_eq!(r.targets(2, None), vec![addr(40002)]);
    }

    #[test]
    fn unknown_or_broadcast_system_goes_to_everyone_heard_else_the_last_peer() {
        let mut r = Routes::default();
        assert_eq!(r.targets(7, Some(addr(9))), vec![addr(9)]);
        assert!(r.targets(7, None).is_empty());
        r.seen(1, addr(2));
        r.seen(3, addr(1));
        assert_eq!(r.targets(0, Some(addr(9))), vec![addr(1), addr(2)]);
        assert_eq!(r.targets(7, None), vec![addr(1), addr(2)]);
    }

    #[test]
    fn a_peer_changing_ports_does_not_grow_the_table() {
        let mut r = Routes::default();
        for p in 0..100 {
            r.seen(1, addr(50000 + p));
        }
        let t = r.targets(1, None);
        assert_eq!(t.len(), MAX_ADDRS_PER_SYSTEM);
        assert_eq!(*t.last().unwrap(), addr(50099));
    }
}
