//! Field-link figures (issue 14 item 5): for 0, 10, 30 and 50 % loss in both directions, the
//! onboard's real out link (57,600 baud budget, the default 1-8 s resends) sends 8 alerts, one
//! every 2 s, alternately plate hits and possible matches, each with a ~3 KB image, through the
//! impairment proxy (real UDP) to the ground's world, which acknowledges only complete, stored
//! alerts. Prints alert delivery latency (push onboard -> first arrival at the ground), evidence
//! delivery time (push -> image complete), ack time, and link bytes per second.
//! `cargo bench -p utkik-ground --bench lossy_link` (about 2-4 minutes, real time).

#[path = "../tests/lossy_harness/mod.rs"]
mod lossy_harness;

use lossy_harness::{Scenario, percentile, run};

fn main() {
    // Under `cargo test --benches` only check that it runs.
    let quick = std::env::args().any(|a| a == "--test" || a == "--quick");
    let losses: &[f64] = if quick { &[0.1] } else { &[0.0, 0.1, 0.3, 0.5] };
    let alerts = if quick { 2 } else { 8 };
    println!(
        "| loss | alerts delivered | alert latency p50 / p95 s | evidence p50 / p95 s | acked p95 s | link B/s (drone+ground) | of 5,760 B/s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &loss in losses {
        let o = run(&Scenario::field(loss, alerts, 2_000));
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
        let delivered = o.evidence_s.iter().filter(|e| e.is_some()).count();
        let bytes_per_s = (o.onboard_bytes + o.ground_bytes) as f64 / o.elapsed_s;
        println!(
            "| {:.0} % | {delivered}/{alerts}{} | {} / {} | {} / {} | {} | {:.0} | {:.0} % |",
            loss * 100.0,
            if o.images_identical && o.early_acks == 0 {
                ""
            } else {
                " (IMAGES WRONG)"
            },
            f(percentile(&o.alert_latency_s, 50.0)),
            f(percentile(&o.alert_latency_s, 95.0)),
            f(percentile(&o.evidence_s, 50.0)),
            f(percentile(&o.evidence_s, 95.0)),
            f(percentile(&o.acked_s, 95.0)),
            bytes_per_s,
            bytes_per_s / 5_760.0 * 100.0
        );
    }
}
