//! Fuzzing the engine's entry points with random (often invalid) requests: every call must return
//! Ok or a SimError, never panic or hang. CI bounds it with PROPTEST_CASES.

mod common;

use proptest::prelude::*;
use trueasync_engine::{
    Architecture, Connectivity, CostModel, Layer, LayerKind, LifParams, MappingPolicy, Network,
    Projection, ResetMode, Semantics, SimRequest,
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

prop_compose! {
    fn request()(
        sizes in prop::collection::vec(prop_oneof![19 => 1usize..12, 1 => Just(0usize)], 1..5),
        thresholds in prop::collection::vec(prop_oneof![19 => 1i32..6, 1 => -2i32..1], 5),
        leak in prop_oneof![9 => (0u32..9, 3u32..5), 1 => (0u32..20, 0u32..18)],
        weights in prop::collection::vec(-9i32..9, 0..200),
        proj_kinds in prop::collection::vec((0usize..5, prop_oneof![9 => 1usize..5, 1 => Just(0usize)], 0u8..3), 0..5),
        conv in (0usize..4, 0usize..4, 0usize..3),
        mesh in prop_oneof![19 => (1u32..4, 1u32..4, 1u32..3), 1 => (0u32..4, 0u32..4, 0u32..3)],
        npc in prop_oneof![9 => 4u32..16, 1 => 0u32..4],
        depth in prop_oneof![9 => 1u32..4, 1 => Just(0u32)],
        lanes in prop_oneof![9 => 1u32..4, 1 => Just(0u32)],
        mapping in 0u8..3,
        steps in prop_oneof![9 => 1usize..5, 1 => Just(0usize)],
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
            // mostly within range, sometimes not (k == 4 keeps the raw, possibly bad, index)
            let (pre, post) = if k < 4 { (pre % sizes.len(), post % sizes.len()) } else { (pre, post) };
            let n = weights.len();
            let take = |m: usize| weights.iter().cycle().skip(k).take(m.min(4 * n.max(1))).copied().collect::<Vec<i32>>();
            let (np, nq) = (sizes.get(pre).copied().unwrap_or(1), sizes.get(post).copied().unwrap_or(1));
            let conn = match kind {
                0 => Connectivity::Dense { weights: take(np * nq) },
                1 => Connectivity::Sparse {
                    pre: (0..n as u32 % 7).map(|i| i % (np as u32 + 1)).collect(),
                    post: (0..n as u32 % 7).map(|i| (i * 3) % (nq as u32 + 1)).collect(),
                    weights: take(n % 7),
                },
                _ => Connectivity::Conv2d {
                    weights: take(2 * 2 * (conv.0 + 1) * (conv.1 + 1)),
                    out_channels: 2, in_channels: 2, kernel_h: 1, kernel_w: conv.1 + 1,
                    stride: conv.2, padding: conv.0 % 2,
                },
            };
            projections.push(Projection { pre, post, conn });
        }
        let net = Network { layers, projections, weight_scale: 1.0 / 64.0 };
        let arch = Architecture {
            mesh_width: mesh.0, mesh_height: mesh.1, cores_per_tile: mesh.2,
            neurons_per_core: npc, fifo_depth: depth, synapse_lanes: lanes,
            mapping: [MappingPolicy::Packed, MappingPolicy::Spread, MappingPolicy::Locality][mapping as usize],
            ..Architecture::default()
        };
        let n_in = sizes[0];
        let inputs: Vec<u8> = bits.iter().cycle().take(samples * steps * n_in).copied().collect();
        (net, arch, inputs, samples, steps, if sanafe { Semantics::Sanafe } else { Semantics::Timestep })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    #[ignore = "fuzzing: run with --include-ignored (CI does, bounded by PROPTEST_CASES)"]
    fn random_requests_never_panic((net, arch, inputs, samples, steps, semantics) in request()) {
        let costs = CostModel::preset("async28").unwrap();
        let result = std::panic::catch_unwind(|| trueasync_engine::simulate(&SimRequest {
            network: &net, arch: &arch, costs: &costs, inputs: &inputs, samples, steps, semantics,
            core_of: None, threads: Some(1), keep_spike_trace: true, keep_timeline: true, cancel: None,
        }));
        prop_assert!(result.is_ok(), "the engine panicked on {net:?} {arch:?}");
        if std::env::var_os("FUZZ_REPORT").is_some() {
            match &result { Ok(Ok(_)) => eprintln!("fuzz outcome: simulated"), Ok(Err(e)) => eprintln!("fuzz outcome: refused: {}", e.to_string().split(':').take(2).collect::<Vec<_>>().join(":")), _ => {} }
        }
        if let Ok(Err(e)) = &result {
            prop_assert!(!e.to_string().contains("internal error"), "{e}");
        }
    }
}
