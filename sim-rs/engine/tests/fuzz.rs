//! Fuzzing the engine's entry points with random (often invalid) requests: every call must return
//! Ok or a SimError, never panic or hang. CI bounds it with PROPTEST_CASES.

mod common;

use proptest::prelude::*;
use trueasync_engine::{
    Architecture, Connectivity, CostModel, Layer, LayerKind, LifParams, MappingPolicy, Network,
    Projection, ResetMode, Schedule, Semantics, SimRequest,
};

fn layer(
    i: usize,
    size: usize,
    is_input: bool,
    shape: Option<[usize; 3]>,
    threshold: i32,
    leak: (u32, u32),
) -> Layer {
    Layer {
        name: format!("l{i}"),
        size,
        shape,
        kind: if is_input {
            LayerKind::Input
        } else {
            LayerKind::Lif(LifParams {
                threshold,
                leak_num: leak.0,
                leak_shift: leak.1,
                bias: (i as i32 % 3) - 1,
                reset_mode: if i.is_multiple_of(2) {
                    ResetMode::Hard
                } else {
                    ResetMode::Subtract
                },
                reset_value: 0,
            })
        },
    }
}

/// Sizes and counts: mostly small, sometimes zero, sometimes anywhere up to u64::MAX.
fn size(small: std::ops::Range<usize>) -> impl Strategy<Value = usize> {
    prop_oneof![
        18 => small,
        1 => Just(0usize),
        1 => any::<u64>().prop_map(|v| v as usize),
    ]
}

/// A latency or energy figure: 0, anywhere in 1e-12..1e6 (log-uniform), or exactly 1e6.
fn figure() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(0.0),
        8 => (-12.0f64..6.0).prop_map(|e| 10f64.powf(e)),
        1 => Just(1e6),
    ]
}

prop_compose! {
    /// A cost model with figures from 0 to 1e6 s (and J), often in the wrong unit.
    fn cost_model()(
        base in prop_oneof![Just("loihi"), Just("async28")],
        latencies in prop::collection::vec(prop_oneof![30 => Just(None), 1 => figure().prop_map(Some)], 11),
        energies in prop::collection::vec(prop_oneof![30 => Just(None), 1 => figure().prop_map(Some)], 11),
        per_bit in prop_oneof![20 => Just(None), 1 => figure().prop_map(Some)],
    ) -> CostModel {
        let mut c = CostModel::preset(base).unwrap();
        for (kind, t) in trueasync_engine::cost::EVENT_KINDS.iter().zip(&latencies) {
            if let Some(t) = t { c.latency_s.insert(kind.to_string(), *t); }
        }
        for (kind, e) in trueasync_engine::cost::EVENT_KINDS.iter().zip(&energies) {
            if let Some(e) = e { c.energy_j.insert(kind.to_string(), *e); }
        }
        if let Some(b) = per_bit { c.synapse_read_j_per_bit = b; }
        c
    }
}

prop_compose! {
    fn request()(
        sizes in prop_oneof![1 => prop::collection::vec(size(1..12), 1..2), 6 => prop::collection::vec(size(1..12), 2..5)],
        thresholds in prop::collection::vec(prop_oneof![19 => 1i32..6, 1 => -2i32..1], 5),
        leak in prop_oneof![9 => (0u32..9, 3u32..5), 1 => (0u32..20, 0u32..18)],
        weights in prop::collection::vec(-9i32..9, 0..200),
        proj_kinds in prop::collection::vec((0usize..5, prop_oneof![9 => 1usize..5, 1 => Just(0usize)], prop_oneof![6 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)]), 0..5),
        conv in (size(0..4), size(0..4), size(0..3)),
        mesh in prop_oneof![19 => (1u32..4, 1u32..4, 1u32..3), 1 => (0u32..300, 0u32..300, 0u32..70)],
        npc in prop_oneof![9 => 4u32..16, 1 => any::<u32>()],
        depth in prop_oneof![9 => 1u32..4, 1 => any::<u32>()],
        lanes in prop_oneof![9 => 1u32..4, 1 => any::<u32>()],
        link in prop_oneof![9 => Just(32u32), 1 => any::<u32>()],
        weight_bits in prop_oneof![9 => Just(8u32), 1 => 0u32..20],
        voltage in prop_oneof![9 => Just(None), 1 => (-1.0f64..10.0).prop_map(Some)],
        mapping in 0u8..3,
        steps in prop_oneof![36 => 1usize..5, 2 => 100usize..3000, 1 => Just(0usize), 1 => any::<u64>().prop_map(|v| v as usize)],
        samples in prop_oneof![9 => 1usize..3, 1 => Just(0usize)],
        bits in prop::collection::vec(prop_oneof![199 => 0u8..2, 1 => Just(2u8)], 0..200),
        sanafe in any::<bool>(),
    ) -> (Network, Architecture, Vec<u8>, usize, usize, Semantics) {
        let layers: Vec<Layer> = sizes.iter().enumerate().map(|(i, &s)| {
            let shape = if s > 0 && s % 2 == 0 { Some([1, s / 2, 2]) } else { None };
            layer(i, s, i == 0, shape, thresholds[i], leak)
        }).collect();
        let mut projections = Vec::new();
        for (k, &(pre, post, kind)) in proj_kinds.iter().enumerate() {
            // mostly within range and into a LIF layer, sometimes not (k == 3: any layer;
            // k == 4 keeps the raw, possibly bad, index)
            let last = sizes.len() - 1;
            let (pre, post) = match k {
                0..=2 if last > 0 => (pre % sizes.len(), 1 + post % last),
                0..=3 => (pre % sizes.len(), post % sizes.len()),
                _ => (pre, post),
            };
            let n = weights.len();
            // never more than 4x the drawn weights, whatever the layer sizes say
            let take = |m: usize| weights.iter().cycle().skip(k).take(m.min(4 * n.max(1))).copied().collect::<Vec<i32>>();
            let (np, nq) = (sizes.get(pre).copied().unwrap_or(1), sizes.get(post).copied().unwrap_or(1));
            let conn = match kind {
                0 => Connectivity::Dense { weights: take(np.saturating_mul(nq)) },
                1 => Connectivity::Sparse {
                    pre: (0..n as u32 % 7).map(|i| i % (np as u32).saturating_add(1)).collect(),
                    post: (0..n as u32 % 7).map(|i| (i * 3) % (nq as u32).saturating_add(1)).collect(),
                    weights: take(n % 7),
                },
                _ => Connectivity::Conv2d {
                    weights: take(4usize.saturating_mul(conv.0.saturating_add(1)).saturating_mul(conv.1.saturating_add(1))),
                    out_channels: 2, in_channels: 2, kernel_h: 1, kernel_w: conv.1.saturating_add(1),
                    stride: conv.2, padding: conv.0 % 2,
                },
            };
            projections.push(Projection { pre, post, conn });
        }
        let net = Network { layers, projections, weight_scale: 1.0 / 64.0 };
        let arch = Architecture {
            mesh_width: mesh.0, mesh_height: mesh.1, cores_per_tile: mesh.2,
            neurons_per_core: npc, fifo_depth: depth, synapse_lanes: lanes, link_width_bits: link,
            weight_bits, voltage_v: voltage,
            mapping: [MappingPolicy::Packed, MappingPolicy::Spread, MappingPolicy::Locality][mapping as usize],
            ..Architecture::default()
        };
        // the input array as the shape says, unless that would not fit in memory (then a short
        // one: the request is refused either way)
        let want = samples.checked_mul(steps).and_then(|n| n.checked_mul(sizes[0]));
        let len = want.filter(|&n| n <= 1 << 20).unwrap_or(7);
        let inputs: Vec<u8> = bits.iter().cycle().take(if bits.is_empty() { 0 } else { len }).copied().collect();
        (net, arch, inputs, samples, steps, if sanafe { Semantics::Sanafe } else { Semantics::Timestep })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    #[ignore = "fuzzing: run with --include-ignored (CI does, bounded by PROPTEST_CASES)"]
    fn random_requests_never_panic(
        (net, arch, inputs, samples, steps, semantics) in request(),
        costs in cost_model(),
        clocked in any::<bool>(),
    ) {
        let schedule = if clocked { Schedule::Clocked } else { Schedule::Asynchronous };
        let result = std::panic::catch_unwind(|| trueasync_engine::simulate(&SimRequest {
            network: &net, arch: &arch, costs: &costs, inputs: &inputs, samples, steps, semantics, schedule,
            core_of: None, threads: Some(1), keep_spike_trace: true, keep_timeline: true, cancel: None,
        }));
        prop_assert!(result.is_ok(), "the engine panicked on {net:?} {arch:?} {costs:?}");
        if std::env::var_os("FUZZ_REPORT").is_some() {
            match &result { Ok(Ok(_)) => eprintln!("fuzz outcome: simulated"), Ok(Err(e)) => eprintln!("fuzz outcome: refused: {}", e.to_string().split(':').take(2).collect::<Vec<_>>().join(":")), _ => {} }
        }
        match result {
            Ok(Err(e)) => prop_assert!(!e.to_string().contains("internal error"), "{e}"),
            Ok(Ok(out)) => {
                // no figure wrapped: the bounds hold and everything is finite
                for r in &out.samples {
                    prop_assert!(r.critical_path_s <= r.latency_s && r.latency_s <= r.quiescent_s,
                        "{} {} {}", r.critical_path_s, r.latency_s, r.quiescent_s);
                    prop_assert!(r.quiescent_s <= r.serial_time_s, "{} {}", r.quiescent_s, r.serial_time_s);
                    prop_assert!(r.energy_j.is_finite() && r.energy_j >= 0.0, "{}", r.energy_j);
                    prop_assert!(r.serial_time_s < 4612.0);
                }
            }
            Err(_) => unreachable!(),
        }
    }
}
