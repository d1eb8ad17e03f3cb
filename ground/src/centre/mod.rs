//! The operations-centre side of issue 19: station events published on a Zenoh bus and a
//! centre (`utkik-ground` in centre mode) that subscribes to many stations, verifying each
//! event's signature against the stations it trusts.
//!
//! **Key expressions.** A station publishes each signed event (`utkik_shared::events`) under
//! `utkik/<region>/<station>/<source>/<kind>`, e.g. `utkik/north/stn-1/drone-1/plate_hit`
//! ([`event_key`]). A centre subscribes to `utkik/**` (everything) or `utkik/<region>/**`.
//! The key is routing only: the centre checks that it agrees with the signed event (station,
//! source, kind, and the region the trusted list pins for the station), so a sample cannot be
//! moved to another region or station by re-publishing it under another key.
//!
//! **Transport.** Zenoh 1.x ([`BusConfig`]): peer mode by default, which on one machine or LAN
//! needs no router (peers find each other by multicast scouting); `connect`/`listen` endpoints
//! (`tcp/HOST:PORT`, `tls/HOST:PORT`) for a router between sites. A Zenoh JSON5 config file
//! (`--zenoh-config`) carries TLS certificates and access control; see `docs/centre.md`.
//! Events are put with `CongestionControl::Block`: a congested link slows the publisher down
//! instead of dropping a hit.
//!
//! **What the centre does with a sample** ([`Centre::recv_timeout`]): parse, check the key,
//! verify the signature with the trusted key of the station the event names, refuse a `seq`
//! not above the highest accepted from that station. Refused samples are counted by reason
//! ([`CentreStats`]) and logged with the reason; they are never returned as events.
//!
//! A subscriber sees only what is published while it is subscribed: Zenoh pub/sub keeps no
//! history. Delivery of events published while a centre was away is not part of this slice.

pub mod cli;
pub mod latency;
pub mod load;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use utkik_shared::events::{
    EventBody, EventSource, EventVerifier, Refusal, SequenceCounter, SignError, SignedStationEvent, StationEvent,
    StationKey, TrustedStations, check_station_id,
};
use zenoh::Wait;
use zenoh::handlers::FifoChannelHandler;
use zenoh::pubsub::Subscriber;
use zenoh::qos::CongestionControl;
use zenoh::sample::Sample;

/// First segment of every event key.
pub const KEY_PREFIX: &str = "utkik";

/// Region segment of a station started without `--region`.
pub const DEFAULT_REGION: &str = "local";

/// Accepted events a [`Centre`] keeps in memory (the newest; older ones are dropped from the
/// list, not from the counters).
pub const KEPT_EVENTS: usize = 10_000;

/// The key expression an event is published under.
pub fn event_key(region: &str, station_id: &str, source: &EventSource, kind: &str) -> String {
    format!("{KEY_PREFIX}/{region}/{station_id}/{}/{kind}", source.key_segment())
}

/// What went wrong on the bus.
#[derive(Debug, Error)]
pub enum CentreError {
    /// The Zenoh configuration is wrong (names the setting).
    #[error("zenoh configuration: {what}: {reason}")]
    Config {
        /// Which setting.
        what: String,
        /// Why.
        reason: String,
    },
    /// Zenoh failed (session, declaration, put, receive).
    #[error("zenoh: {what}: {reason}")]
    Zenoh {
        /// What was being done.
        what: &'static str,
        /// Zenoh's error.
        reason: String,
    },
    /// The event could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

fn zerr(what: &'static str) -> impl FnOnce(zenoh::Error) -> CentreError {
    move |e| CentreError::Zenoh {
        what,
        reason: e.to_string(),
    }
}

/// Zenoh session mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BusMode {
    /// Peer (default): talks to other peers directly, and to routers it connects to.
    #[default]
    Peer,
    /// Client: talks only through the router it connects to.
    Client,
    /// Router: routes between peers and clients (a site's or a region's hub).
    Router,
}

impl BusMode {
    fn name(self) -> &'static str {
        match self {
            Self::Peer => "peer",
            Self::Client => "client",
            Self::Router => "router",
        }
    }
}

/// How to join the bus.
#[derive(Debug, Clone, Default)]
pub struct BusConfig {
    /// Session mode.
    pub mode: BusMode,
    /// Endpoints to connect to (`tcp/127.0.0.1:7447`, `tls/centre.example:7447`).
    pub connect: Vec<String>,
    /// Endpoints to listen on.
    pub listen: Vec<String>,
    /// A Zenoh JSON5 config file (TLS, access control) the settings above are applied onto.
    pub config_file: Option<PathBuf>,
    /// `Some(false)` turns multicast scouting off (tests, or sites where only configured
    /// endpoints may be used); `None` keeps Zenoh's default (on for peers).
    pub multicast_scouting: Option<bool>,
}

impl BusConfig {
    /// The Zenoh configuration.
    ///
    /// # Errors
    /// [`CentreError::Config`] naming the file or endpoint that is wrong.
    pub fn to_zenoh(&self) -> Result<zenoh::Config, CentreError> {
        let mut config = match &self.config_file {
            Some(p) => zenoh::Config::from_file(p).map_err(|e| CentreError::Config {
                what: p.display().to_string(),
                reason: e.to_string(),
            })?,
            None => zenoh::Config::default(),
        };
        let set = |config: &mut zenoh::Config, key: &str, value: String, what: String| {
            config.insert_json5(key, &value).map_err(|e| CentreError::Config {
                what,
                reason: e.to_string(),
            })
        };
        set(&mut config, "mode", format!("\"{}\"", self.mode.name()), "mode".into())?;
        for (key, list, what) in [
            ("connect/endpoints", &self.connect, "connect endpoint"),
            ("listen/endpoints", &self.listen, "listen endpoint"),
        ] {
            if list.is_empty() {
                continue;
            }
            for e in list {
                e.parse::<zenoh::config::EndPoint>()
                    .map_err(|err| CentreError::Config {
                        what: format!("{what} `{e}`"),
                        reason: format!("{err} (expected e.g. tcp/127.0.0.1:7447 or tls/host:7447)"),
                    })?;
            }
            let json = serde_json::to_string(list).expect("strings serialize");
            set(&mut config, key, json, what.into())?;
        }
        if let Some(on) = self.multicast_scouting {
            set(
                &mut config,
                "scouting/multicast/enabled",
                on.to_string(),
                "scouting/multicast/enabled".into(),
            )?;
        }
        Ok(config)
    }

    /// Opens a session.
    ///
    /// # Errors
    /// As [`BusConfig::to_zenoh`], or [`CentreError::Zenoh`] when the session does not open
    /// (an endpoint that cannot be listened on, TLS files missing).
    pub fn open(&self) -> Result<zenoh::Session, CentreError> {
        zenoh::open(self.to_zenoh()?)
            .wait()
            .map_err(zerr("opening the session"))
    }
}

/// A station's signer and publisher of events.
pub struct EventPublisher {
    session: zenoh::Session,
    key: StationKey,
    region: String,
    seq: SequenceCounter,
    published: u64,
}

impl EventPublisher {
    /// Joins the bus as station `key.station_id` in `region`.
    ///
    /// # Errors
    /// [`CentreError::Config`] for a region unfit for a key segment, or as [`BusConfig::open`].
    pub fn open(bus: &BusConfig, key: StationKey, region: &str, now_usec: u64) -> Result<Self, CentreError> {
        check_station_id(region).map_err(|reason| CentreError::Config {
            what: format!("region `{region}`"),
            reason: reason.replace("station_id", "region"),
        })?;
        Ok(Self {
            session: bus.open()?,
            key,
            region: region.into(),
            seq: SequenceCounter::starting_at(now_usec),
            published: 0,
        })
    }

    /// The station id.
    pub fn station_id(&self) -> &str {
        &self.key.station_id
    }

    /// Events published so far.
    pub fn published(&self) -> u64 {
        self.published
    }

    /// Signs an event (next `seq`, time `now_usec`) without publishing it.
    ///
    /// # Errors
    /// [`CentreError::Sign`] naming what is wrong with the content.
    pub fn sign(
        &mut self,
        now_usec: u64,
        source: EventSource,
        body: EventBody,
    ) -> Result<SignedStationEvent, CentreError> {
        let seq = self.seq.next(now_usec);
        let event = StationEvent::new(&self.key.station_id, seq, now_usec, source, body);
        Ok(SignedStationEvent::sign(event, &self.key.key)?)
    }

    /// Publishes an event already signed (by this station, or a copy of one, e.g. to resend).
    ///
    /// # Errors
    /// [`CentreError::Zenoh`] when the put fails.
    pub fn put(&mut self, signed: &SignedStationEvent) -> Result<String, CentreError> {
        let key = event_key(
            &self.region,
            &signed.event.station_id,
            &signed.event.source,
            signed.event.body.kind_name(),
        );
        self.session
            .put(key.as_str(), signed.to_bytes())
            .encoding(zenoh::bytes::Encoding::APPLICATION_JSON)
            .congestion_control(CongestionControl::Block)
            .wait()
            .map_err(zerr("publishing an event"))?;
        self.published += 1;
        Ok(key)
    }

    /// Signs and publishes; returns the event and its key.
    ///
    /// # Errors
    /// As [`EventPublisher::sign`] and [`EventPublisher::put`].
    pub fn publish(
        &mut self,
        now_usec: u64,
        source: EventSource,
        body: EventBody,
    ) -> Result<(SignedStationEvent, String), CentreError> {
        let signed = self.sign(now_usec, source, body)?;
        let key = self.put(&signed)?;
        Ok((signed, key))
    }

    /// Closes the session (pending puts are flushed first).
    ///
    /// # Errors
    /// [`CentreError::Zenoh`].
    pub fn close(self) -> Result<(), CentreError> {
        self.session.close().wait().map_err(zerr("closing the session"))
    }
}

/// Why the centre refused a sample.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CentreRefusal {
    /// The event itself: malformed, unknown station, bad signature, replayed.
    #[error(transparent)]
    Event(#[from] Refusal),
    /// The key it came under does not agree with the signed event.
    #[error("key `{key}` does not agree with the event: {reason}")]
    KeyMismatch {
        /// The sample's key.
        key: String,
        /// What differs.
        reason: String,
    },
}

impl CentreRefusal {
    /// Counter name: the [`Refusal::kind`], or `key_mismatch`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(r) => r.kind(),
            Self::KeyMismatch { .. } => "key_mismatch",
        }
    }
}

/// An accepted event as the centre keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// The key it came under.
    pub key: String,
    /// The region segment of that key.
    pub region: String,
    /// The verified event.
    pub event: StationEvent,
}

/// What one sample gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Verified and kept.
    Accepted(ReceivedEvent),
    /// Refused: counted and logged, never shown.
    Refused {
        /// The sample's key.
        key: String,
        /// Why.
        reason: CentreRefusal,
    },
}

/// What a centre accepted of one event kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Events accepted.
    pub events: u64,
    /// What they carried: tracks for `tracks` events, else one per event.
    pub items: u64,
    /// From the station's signature to the centre's verification.
    pub latency: latency::LatencyHistogram,
}

/// Counts of a centre.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CentreStats {
    /// Events accepted.
    pub accepted: u64,
    /// Samples refused, by [`CentreRefusal::kind`].
    pub refused: BTreeMap<&'static str, u64>,
    /// Accepted events by kind ([`EventBody::kind_name`]).
    pub by_kind: BTreeMap<&'static str, KindStats>,
}

/// [`KindStats`] as printed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KindSummary {
    /// Events accepted.
    pub events: u64,
    /// Tracks (for `tracks`) or events.
    pub items: u64,
    /// Delivery latency.
    pub latency: latency::LatencySummary,
}

/// [`CentreStats`] as `utkik-ground centre` prints it at the end (`centre: summary {json}`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CentreSummary {
    /// Events accepted.
    pub accepted: u64,
    /// Refused samples by reason.
    pub refused: BTreeMap<&'static str, u64>,
    /// Accepted events by kind.
    pub by_kind: BTreeMap<&'static str, KindSummary>,
}

impl CentreStats {
    /// All refused samples.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }

    /// Counts an accepted event verified at `received_usec` (UTC µs).
    pub fn count_accepted(&mut self, event: &StationEvent, received_usec: u64) {
        self.accepted += 1;
        let k = self.by_kind.entry(event.body.kind_name()).or_default();
        k.events += 1;
        k.items += match &event.body {
            EventBody::Tracks(t) => t.tracks.len() as u64,
            _ => 1,
        };
        k.latency.record(event.time_usec, received_usec);
    }

    /// The printable summary.
    pub fn summary(&self) -> CentreSummary {
        CentreSummary {
            accepted: self.accepted,
            refused: self.refused.clone(),
            by_kind: self
                .by_kind
                .iter()
                .map(|(k, s)| {
                    (
                        *k,
                        KindSummary {
                            events: s.events,
                            items: s.items,
                            latency: s.latency.summary(),
                        },
                    )
                })
                .collect(),
        }
    }
}

impl std::fmt::Display for CentreStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "accepted {}, refused {}", self.accepted, self.refused_total())?;
        if !self.refused.is_empty() {
            let parts: Vec<String> = self.refused.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Checks that `key` is `utkik/<region>/<station>/<source>/<kind>` of this event, with the
/// region the trusted list pins (if it does); returns the region.
fn check_key(key: &str, signed: &SignedStationEvent, trusted: &TrustedStations) -> Result<String, String> {
    let parts: Vec<&str> = key.split('/').collect();
    let [prefix, region, station, source, kind] = parts.as_slice() else {
        return Err(format!("not {KEY_PREFIX}/<region>/<station>/<source>/<kind>"));
    };
    let e = &signed.event;
    if *prefix != KEY_PREFIX {
        return Err(format!("does not start with {KEY_PREFIX}/"));
    }
    if *station != e.station_id {
        return Err(format!(
            "station segment `{station}`, event signed as `{}`",
            e.station_id
        ));
    }
    if *source != e.source.key_segment() {
        return Err(format!(
            "source segment `{source}`, event from `{}`",
            e.source.key_segment()
        ));
    }
    if *kind != e.body.kind_name() {
        return Err(format!("kind segment `{kind}`, event is a `{}`", e.body.kind_name()));
    }
    if let Some(pinned) = trusted.get(&e.station_id).and_then(|t| t.region.as_deref())
        && pinned != *region
    {
        return Err(format!(
            "region `{region}`, but the trusted list puts station `{}` in `{pinned}`",
            e.station_id
        ));
    }
    Ok((*region).to_string())
}

/// Checks one sample's bytes under `key` with `verifier` (the centre's logic without the
/// transport; [`Centre::recv_timeout`] calls it for each sample).
pub fn check_sample(verifier: &mut EventVerifier, key: &str, payload: &[u8]) -> Result<ReceivedEvent, CentreRefusal> {
    let signed = SignedStationEvent::from_bytes(payload)?;
    let region = check_key(key, &signed, verifier.trusted()).map_err(|reason| CentreRefusal::KeyMismatch {
        key: key.into(),
        reason,
    })?;
    let verified = verifier.verify_signed(signed)?;
    Ok(ReceivedEvent {
        key: key.into(),
        region,
        event: verified.event,
    })
}

/// A centre: a subscriber that verifies every sample.
pub struct Centre {
    session: zenoh::Session,
    subscriber: Subscriber<FifoChannelHandler<Sample>>,
    verifier: EventVerifier,
    stats: CentreStats,
    events: VecDeque<ReceivedEvent>,
}

impl Centre {
    /// Joins the bus and subscribes to `key_expr` (`utkik/**`, `utkik/north/**`).
    ///
    /// # Errors
    /// [`CentreError::Config`] for a key expression outside `utkik/`, or as [`BusConfig::open`].
    pub fn open(bus: &BusConfig, trusted: TrustedStations, key_expr: &str) -> Result<Self, CentreError> {
        if key_expr != KEY_PREFIX && !key_expr.starts_with(&format!("{KEY_PREFIX}/")) {
            return Err(CentreError::Config {
                what: format!("key expression `{key_expr}`"),
                reason: format!(
                    "events are published under {KEY_PREFIX}/..., e.g. {KEY_PREFIX}/** or {KEY_PREFIX}/REGION/**"
                ),
            });
        }
        let ke = zenoh::key_expr::KeyExpr::try_from(key_expr.to_string()).map_err(|e| CentreError::Config {
            what: format!("key expression `{key_expr}`"),
            reason: e.to_string(),
        })?;
        let session = bus.open()?;
        let subscriber = session
            .declare_subscriber(ke)
            .wait()
            .map_err(zerr("declaring the subscriber"))?;
        Ok(Self {
            session,
            subscriber,
            verifier: EventVerifier::new(trusted),
            stats: CentreStats::default(),
            events: VecDeque::new(),
        })
    }

    /// Waits up to `timeout` for one sample and checks it. `Ok(None)`: nothing arrived.
    ///
    /// # Errors
    /// [`CentreError::Zenoh`] when the subscription is closed.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Outcome>, CentreError> {
        let Some(sample) = self
            .subscriber
            .recv_timeout(timeout)
            .map_err(zerr("receiving a sample"))?
        else {
            return Ok(None);
        };
        Ok(Some(self.check(&sample)))
    }

    fn check(&mut self, sample: &Sample) -> Outcome {
        let key = sample.key_expr().as_str().to_string();
        let payload = sample.payload().to_bytes();
        match check_sample(&mut self.verifier, &key, &payload) {
            Ok(ev) => {
                self.stats
                    .count_accepted(&ev.event, crate::audit_log::wall_clock_usec());
                if self.events.len() == KEPT_EVENTS {
                    self.events.pop_front();
                }
                self.events.push_back(ev.clone());
                Outcome::Accepted(ev)
            }
            Err(reason) => {
                *self.stats.refused.entry(reason.kind()).or_default() += 1;
                tracing::warn!(key = %key, "centre: refused a sample: {reason}");
                Outcome::Refused { key, reason }
            }
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> &CentreStats {
        &self.stats
    }

    /// The accepted events kept (newest last, at most [`KEPT_EVENTS`]).
    pub fn events(&self) -> &VecDeque<ReceivedEvent> {
        &self.events
    }

    /// Closes the session.
    ///
    /// # Errors
    /// [`CentreError::Zenoh`].
    pub fn close(self) -> Result<(), CentreError> {
        drop(self.subscriber);
        self.session.close().wait().map_err(zerr("closing the session"))
    }
}

#[cfg(test)]
mod tests;
