//! Golden micro-timing cases whose every time was computed by hand (docs/cost-model.md,
//! "Micro-timing cases"): one hop, two flows contending for one link, a `fifo_depth = 1`
//! chain, and a wider link. Latencies in whole ns, so every expected time is exact.

mod common;

use common::*;
use trueasync_engine::timing::{TimelineRecord, Unit};
use trueasync_engine::{
    Architecture, CostModel, Network, SampleResult, Schedule, Semantics, SimRequest,
};

/// Round numbers: soma 2 / 3 / 7 ns per access / update / spike, synapse 3 ns, axon-out 5 ns,
/// axon-in 16 ns, 4 ns per flit east-west and 6 ns north-south, tokens 5 ns. Energies in pJ;
/// the area counts routers only (1 um^2 per link bit and per buffer bit).
fn costs() -> CostModel {
    CostModel::from_json(
        r#"{
        "name": "micro",
        "energy_j": {"soma_access": 1e-12, "soma_update": 1e-12, "soma_spike": 1e-12,
                     "synapse_event": 8e-12, "message_out": 2e-12, "message_in": 1e-12,
                     "east_hop": 1e-12, "west_hop": 1e-12, "north_hop": 1e-12, "south_hop": 1e-12,
                     "token_out": 0.5e-12, "token_hop": 0.25e-12},
        "latency_s": {"soma_access": 2e-9, "soma_update": 3e-9, "soma_spike": 7e-9,
                      "synapse_event": 3e-9, "message_out": 5e-9, "message_in": 16e-9,
                      "east_hop": 4e-9, "west_hop": 4e-9, "north_hop": 6e-9, "south_hop": 6e-9,
                      "token_out": 5e-9},
        "nominal_voltage_v": 0.8,
        "area": {"router_logic_um2_per_link_bit": 1.0, "buffer_um2_per_bit": 1.0},
        "link_width_energy_share": 0.5,
        "synapse_read_j_per_bit": 0.5e-12,
        "lane_j_per_bit": 0.25e-12
    }"#,
    )
    .unwrap()
}

/// `n_in` input neurons, each with weight 1 onto one LIF neuron of threshold 1.
fn fan_in(n_in: usize) -> Network {
    Network {
        layers: vec![input("in", n_in), lif("out", 1, 1)],
        projections: vec![dense(0, 1, n_in, 1, 1)],
        weight_scale: 1.0 / 64.0,
    }
}

fn simulate(net: &Network, arch: &Architecture, core_of: Vec<u32>) -> SampleResult {
    simulate_steps(net, arch, core_of, 1, Schedule::Asynchronous)
}

fn simulate_steps(
    net: &Network,
    arch: &Architecture,
    core_of: Vec<u32>,
    steps: usize,
    schedule: Schedule,
) -> SampleResult {
    let n_in = net.n_inputs();
    let mut costs = costs();
    costs.latency_s.insert("barrier_hop".into(), 1e-9);
    costs.energy_j.insert("barrier_hop".into(), 0.125e-12);
    trueasync_engine::simulate(&SimRequest {
        network: net,
        arch,
        costs: &costs,
        inputs: &vec![1u8; n_in * steps],
        samples: 1,
        steps,
        semantics: Semantics::Timestep,
        schedule,
        core_of: Some(core_of),
        threads: Some(1),
        keep_spike_trace: false,
        keep_timeline: true,
        cancel: None,
    })
    .unwrap()
    .samples
    .remove(0)
}

/// (start, end) in ns of every activity of one unit, in time order.
fn busy(r: &SampleResult, unit: Unit, index: u32, port: u8) -> Vec<(u64, u64)> {
    let ns = |fs: u64| {
        assert_eq!(fs % 1_000_000, 0, "{fs} fs is not a whole ns");
        fs / 1_000_000
    };
    let mut v: Vec<(u64, u64)> = r
        .timeline
        .as_ref()
        .unwrap()
        .iter()
        .filter(|t: &&TimelineRecord| t.unit == unit && t.index == index && t.port == port)
        .map(|t| (ns(t.start_fs), ns(t.end_fs)))
        .collect();
    v.sort_unstable();
    v
}

fn ns(seconds: f64) -> f64 {
    (seconds * 1e9 * 1e6).round() / 1e6
}

fn mesh(w: u32, h: u32, cores_per_tile: u32) -> Architecture {
    Architecture {
        mesh_width: w,
        mesh_height: h,
        cores_per_tile,
        ..Architecture::default()
    }
}

#[test]
fn one_hop() {
    // core 0 (tile x=0) -> core 1 (tile x=1): one east hop; packets of 2 + 1 + 1 + 10 = 14 bits,
    // one flit on a 32-bit link.
    let arch = mesh(2, 1, 1);
    assert_eq!(arch.packet_format().bits(), 14);
    assert_eq!(arch.flits_per_packet(), 1);
    let r = simulate(&fan_in(1), &arch, vec![0, 1]);
    // spike then end-of-step token: axon-out 5 ns each, the east link 4 ns, axon-in 16 ns,
    // the synapse 3 ns for the spike and 0 for the token, which releases the LIF update.
    assert_eq!(busy(&r, Unit::AxonOut, 0, 0), [(0, 5), (5, 10)]);
    assert_eq!(busy(&r, Unit::Link, 0, 0), [(5, 9), (10, 14)]);
    assert_eq!(busy(&r, Unit::Link, 1, 4), [(9, 9), (14, 14)]); // ejection takes no time
    assert_eq!(busy(&r, Unit::AxonIn, 1, 0), [(9, 25), (25, 41)]);
    assert_eq!(busy(&r, Unit::Synapse, 1, 0), [(25, 28), (41, 41)]);
    // 1 access x 2 + 1 update x 3 + 1 spike x 7 = 12 ns: the output layer's last event
    assert_eq!(busy(&r, Unit::Soma, 1, 0), [(41, 53)]);
    assert_eq!(ns(r.latency_s), 53.0);
    // no step credit goes back: it would release step 0 + 2 of a 1-step sample
    assert!(busy(&r, Unit::AxonOut, 1, 0).is_empty());
    assert_eq!((r.credits, r.tokens), (0, 1));
    assert_eq!(ns(r.quiescent_s), 53.0);
    assert_eq!(r.stalls, 0);
}

#[test]
fn two_flows_contending_for_one_link() {
    // cores 0 and 1 share tile 0; both send to core 2 on tile 1 through tile 0's east port.
    let arch = mesh(2, 1, 2);
    assert_eq!(arch.packet_format().bits(), 2 + 2 + 2 + 10);
    let r = simulate(&fan_in(2), &arch, vec![0, 1, 2]);
    assert_eq!(busy(&r, Unit::AxonOut, 0, 0), [(0, 5), (5, 10)]);
    assert_eq!(busy(&r, Unit::AxonOut, 1, 0), [(0, 5), (5, 10)]);
    // First come, first served (equal times: lower unit first): core 0's spike, core 1's
    // spike (waited 4 ns), then the two tokens that arrived at 10 ns behind them.
    assert_eq!(
        busy(&r, Unit::Link, 0, 0),
        [(5, 9), (9, 13), (13, 17), (17, 21)]
    );
    assert_eq!(
        busy(&r, Unit::AxonIn, 2, 0),
        [(9, 25), (25, 41), (41, 57), (57, 73)]
    );
    assert_eq!(
        busy(&r, Unit::Synapse, 2, 0),
        [(25, 28), (41, 44), (57, 57), (73, 73)]
    );
    // the second token releases the update: 2 + 3 + 7 ns
    assert_eq!(busy(&r, Unit::Soma, 2, 0), [(73, 85)]);
    assert_eq!(ns(r.latency_s), 85.0);
    assert_eq!(r.stalls, 0);
}

#[test]
fn a_fifo_depth_1_chain() {
    // Three spikes and a token from core 0 to core 1 on one tile. With one slot per FIFO the
    // packets advance one buffer at a time: the token leaves axon-out at 21 ns instead of
    // 15 ns, but axon-in (16 ns a packet) sets the pace either way, so the update is the same.
    let net = fan_in(3);
    let deep = simulate(&net, &mesh(1, 1, 2), vec![0, 0, 0, 1]);
    let shallow = simulate(
        &net,
        &Architecture {
            fifo_depth: 1,
            ..mesh(1, 1, 2)
        },
        vec![0, 0, 0, 1],
    );
    assert_eq!(
        busy(&deep, Unit::AxonOut, 0, 0),
        [(0, 5), (5, 10), (10, 15), (15, 20)]
    );
    assert_eq!(
        busy(&shallow, Unit::AxonOut, 0, 0),
        [(0, 5), (5, 10), (10, 15), (21, 26)]
    );
    // the ejection port hands on each packet once axon-in's buffer has room
    assert_eq!(
        busy(&deep, Unit::Link, 0, 5),
        [(5, 5), (10, 10), (15, 15), (20, 20)]
    );
    assert_eq!(
        busy(&shallow, Unit::Link, 0, 5),
        [(5, 5), (10, 10), (21, 21), (37, 37)]
    );
    for r in [&deep, &shallow] {
        assert_eq!(
            busy(r, Unit::AxonIn, 1, 0),
            [(5, 21), (21, 37), (37, 53), (53, 69)]
        );
        assert_eq!(
            busy(r, Unit::Synapse, 1, 0),
            [(21, 24), (37, 40), (53, 56), (69, 69)]
        );
        // one LIF neuron: 2 + 3 + 7 ns
        assert_eq!(busy(r, Unit::Soma, 1, 0), [(69, 81)]);
        assert_eq!(ns(r.latency_s), 81.0);
    }
    // Stall episodes: the soma 3 (at 0, 0, 5 ns), axon-out 3 (5, 10, 15), the ejection port
    // 2 (15, 26), axon-in 3 (21, 37, 53).
    assert_eq!(deep.stalls, 0);
    assert_eq!(shallow.stalls, 11);
}

#[test]
fn a_wider_link() {
    // The one-hop case with 8- and 16-bit links: the 14-bit packet takes 2 flits (8 ns a hop)
    // or 1 (4 ns); a flit-hop costs 1 pJ x (1 + 0.5 x (w - 32) / 32).
    let narrow = Architecture {
        link_width_bits: 8,
        ..mesh(2, 1, 1)
    };
    let wide = Architecture {
        link_width_bits: 16,
        ..mesh(2, 1, 1)
    };
    assert_eq!(narrow.flits_per_packet(), 2);
    assert_eq!(wide.flits_per_packet(), 1);
    let (n, w) = (
        simulate(&fan_in(1), &narrow, vec![0, 1]),
        simulate(&fan_in(1), &wide, vec![0, 1]),
    );
    assert_eq!(busy(&n, Unit::Link, 0, 0), [(5, 13), (13, 21)]);
    assert_eq!(busy(&n, Unit::AxonIn, 1, 0), [(13, 29), (29, 45)]);
    assert_eq!(busy(&n, Unit::Soma, 1, 0), [(45, 57)]);
    assert_eq!(ns(n.latency_s), 57.0);
    assert_eq!(busy(&w, Unit::Link, 0, 0), [(5, 9), (10, 14)]);
    assert_eq!(ns(w.latency_s), 53.0);
    // network energy: message_out 2 + message_in 1 + one hop (2 flits x 0.625 pJ or 1 x 0.75)
    let pj = |j: f64| j * 1e12;
    assert!((pj(n.energy_breakdown_j[2]) - 4.25).abs() < 1e-9, "{n:?}");
    assert!((pj(w.energy_breakdown_j[2]) - 3.75).abs() < 1e-9, "{w:?}");
    // sync: one token (0.5 pJ), one hop at 0.25 pJ a flit-hop
    assert!((pj(n.energy_breakdown_j[3]) - (0.5 + 2.0 * 0.25 * 0.625)).abs() < 1e-9);
    assert!((pj(w.energy_breakdown_j[3]) - (0.5 + 0.25 * 0.75)).abs() < 1e-9);
    // routers: 5 ports x (w link bits + 8 packets x flits x w buffer bits), two tiles
    let costs = costs();
    let area = |a: &Architecture| costs.area_mm2(a) * 1e6;
    assert!((area(&narrow) - 2.0 * 5.0 * (8.0 + 8.0 * 2.0 * 8.0)).abs() < 1e-6);
    assert!((area(&wide) - 2.0 * 5.0 * (16.0 + 8.0 * 16.0)).abs() < 1e-6);
}

#[test]
fn weight_width_sets_the_synaptic_event_energy() {
    // 8 pJ at the reference 8 bits and 1024 KiB; 0.5 + 0.25 pJ per bit; the read part
    // scales with sqrt(memory / 1024 KiB).
    let costs = costs();
    let at = |bits: u32, kib: u32| {
        costs.synapse_energy(&Architecture {
            weight_bits: bits,
            synapse_memory_kib: kib,
            ..Architecture::default()
        }) * 1e12
    };
    assert_eq!(at(8, 1024), 8.0);
    assert!((at(4, 1024) - (8.0 - 4.0 * 0.75)).abs() < 1e-12);
    assert!((at(4, 256) - (8.0 - 8.0 * 0.75 + 4.0 * (0.5 * 0.5 + 0.25))).abs() < 1e-12);
}

#[test]
fn a_cost_model_that_would_go_negative_is_refused() {
    let base = costs();
    for (text, field) in [
        // 8 x (1 + 0.25) pJ = 10 pJ of width-dependent energy in an 8 pJ event
        (
            r#""synapse_read_j_per_bit": 1e-12"#,
            "exceeds energy_j.synapse_event",
        ),
        (
            r#""link_width_energy_share": 1.5"#,
            "link_width_energy_share",
        ),
        (r#""reference_weight_bits": 0"#, "reference_weight_bits"),
        (
            r#""sram_read_size_exponent": -1"#,
            "sram_read_size_exponent",
        ),
    ] {
        let mut json = serde_json::to_value(&base).unwrap();
        let patch: serde_json::Value = serde_json::from_str(&format!("{{{text}}}")).unwrap();
        for (k, v) in patch.as_object().unwrap() {
            json[k] = v.clone();
        }
        let err = CostModel::from_json(&json.to_string()).unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn two_cores_asynchronous_and_clocked() {
    // The one-hop chip for two steps. Asynchronous: the input partition runs both steps at
    // t = 0 (its packets queue in axon-out), so step 1's spike and token follow step 0's
    // through the pipeline and the update of step 1 starts when its token is in, at 73 ns.
    let arch = mesh(2, 1, 1);
    let net = fan_in(1);
    let a = simulate_steps(&net, &arch, vec![0, 1], 2, Schedule::Asynchronous);
    assert_eq!(
        busy(&a, Unit::AxonOut, 0, 0),
        [(0, 5), (5, 10), (10, 15), (15, 20)]
    );
    assert_eq!(
        busy(&a, Unit::AxonIn, 1, 0),
        [(9, 25), (25, 41), (41, 57), (57, 73)]
    );
    assert_eq!(busy(&a, Unit::Soma, 1, 0), [(41, 53), (73, 85)]);
    assert_eq!((ns(a.latency_s), a.barriers), (85.0, 0));
    // Clocked: step 1 opens once step 0 is done everywhere (53 ns) plus the barrier, a done
    // signal and a release across the mesh's one tile-to-tile edge at 1 ns each: 55 ns.
    let c = simulate_steps(&net, &arch, vec![0, 1], 2, Schedule::Clocked);
    assert_eq!(busy(&c, Unit::Soma, 0, 0), [(0, 0), (55, 55)]);
    assert_eq!(
        busy(&c, Unit::AxonOut, 0, 0),
        [(0, 5), (5, 10), (55, 60), (60, 65)]
    );
    assert_eq!(
        busy(&c, Unit::Link, 0, 0),
        [(5, 9), (10, 14), (60, 64), (65, 69)]
    );
    assert_eq!(
        busy(&c, Unit::AxonIn, 1, 0),
        [(9, 25), (25, 41), (64, 80), (80, 96)]
    );
    assert_eq!(busy(&c, Unit::Soma, 1, 0), [(41, 53), (96, 108)]);
    assert_eq!((ns(c.latency_s), c.barriers), (108.0, 1));
    // same function and events; the barrier's two signals cost 2 x 0.125 pJ more sync energy
    assert_eq!(a.spikes_per_layer, c.spikes_per_layer);
    assert_eq!(a.counts, c.counts);
    assert_eq!((a.tokens, a.credits), (c.tokens, c.credits));
    let sync_pj = |r: &SampleResult| r.energy_breakdown_j[3] * 1e12;
    assert!((sync_pj(&c) - sync_pj(&a) - 0.25).abs() < 1e-9);
}
