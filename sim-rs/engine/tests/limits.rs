//! Requests at the edges of what the engine accepts: sizes near u64, latencies in the wrong
//! unit, schedules that could overflow the clock, memory-bounding limits. Every one ends in a
//! SimError that names the field, never a panic or a wrapped number (docs/simulator.md, Limits).

mod common;

use common::*;
use trueasync_engine::{
    Architecture, Connectivity, CostModel, Network, Projection, Semantics, SimError, SimOutput,
    SimRequest,
};

fn go(net: &Network, arch: &Architecture, costs: &CostModel, steps: usize) -> SimOutput {
    try_go(net, arch, costs, steps, false).unwrap()
}

fn try_go(
    net: &Network,
    arch: &Architecture,
    costs: &CostModel,
    steps: usize,
    trace: bool,
) -> trueasync_engine::Result<SimOutput> {
    let inputs = vec![1u8; steps * net.n_inputs().min(1 << 20)];
    trueasync_engine::simulate(&SimRequest {
        network: net,
        arch,
        costs,
        inputs: &inputs,
        samples: 1,
        steps,
        semantics: Semantics::Timestep,
        schedule: Default::default(),
        core_of: None,
        threads: Some(1),
        keep_spike_trace: trace,
        keep_timeline: false,
        cancel: None,
    })
}

/// The error of a refused request (a short message, not the whole output, if it ran).
fn refused(r: trueasync_engine::Result<SimOutput>) -> SimError {
    match r {
        Ok(out) => panic!(
            "simulated {} samples instead of refusing",
            out.samples.len()
        ),
        Err(e) => e,
    }
}

fn loihi() -> CostModel {
    CostModel::preset("loihi").unwrap()
}

#[test]
fn layer_sizes_that_would_wrap_are_refused() {
    let big = usize::MAX / 2;
    let net = Network {
        layers: vec![input("in", 3), lif("a", big, 2), lif("b", big, 2)],
        projections: vec![],
        weight_scale: 1.0,
    };
    assert_eq!(net.n_neurons(), usize::MAX); // saturates, does not wrap to 1
    let err = net.validate().unwrap_err();
    assert!(matches!(err, SimError::Limit(_)));
    assert!(err.to_string().contains("layer 'a'"), "{err}");
    // a shape whose product overflows
    let mut layer = lif("c", 6, 2);
    layer.shape = Some([usize::MAX, 2, 3]);
    let net = Network {
        layers: vec![input("in", 3), layer],
        projections: vec![],
        weight_scale: 1.0,
    };
    let err = net.validate().unwrap_err();
    assert!(err.to_string().contains("more than 2^64"), "{err}");
}

#[test]
fn conv_sizes_that_would_wrap_are_refused() {
    let mut a = input("in", 4);
    a.shape = Some([2, 2, 1]);
    let mut b = lif("out", 4, 2);
    b.shape = Some([2, 2, 1]);
    for (kh, pad) in [(usize::MAX, 0), (3, usize::MAX / 2)] {
        let net = Network {
            layers: vec![a.clone(), b.clone()],
            projections: vec![Projection {
                pre: 0,
                post: 1,
                conn: Connectivity::Conv2d {
                    weights: vec![1; 9],
                    out_channels: 1,
                    in_channels: 1,
                    kernel_h: kh,
                    kernel_w: 3,
                    stride: 1,
                    padding: pad,
                },
            }],
            weight_scale: 1.0,
        };
        let err = net.validate().unwrap_err();
        assert!(matches!(err, SimError::Network(_)), "{err}");
    }
}

#[test]
fn latencies_in_the_wrong_unit_are_refused_naming_the_field() {
    // 4 "ns" typed as 4 (seconds)
    let mut costs = loihi();
    costs.latency_s.insert("synapse_event".into(), 4.0);
    let err = refused(try_go(
        &chain(1),
        &Architecture::default(),
        &costs,
        2,
        false,
    ));
    assert!(matches!(err, SimError::Cost(_)));
    assert!(err.to_string().contains("latency_s.synapse_event"), "{err}");
    // 1e6 s (the fuzz's upper end) and an energy of 1 kJ
    costs.latency_s.insert("synapse_event".into(), 1e6);
    assert!(try_go(&chain(1), &Architecture::default(), &costs, 2, false).is_err());
    let mut costs = loihi();
    costs.energy_j.insert("soma_spike".into(), 1e3);
    let err = costs.validate().unwrap_err();
    assert!(err.to_string().contains("energy_j.soma_spike"), "{err}");
}

#[test]
fn a_schedule_that_could_overflow_the_clock_is_refused_naming_the_field() {
    // 0.9 s per synaptic event is allowed per event, but 1e4+ events of it would pass 2^62 fs
    let mut costs = loihi();
    costs.latency_s.insert("synapse_event".into(), 0.9);
    let net = Network {
        layers: vec![input("in", 64), lif("a", 64, 2)],
        projections: vec![dense(0, 1, 64, 64, 1)],
        weight_scale: 1.0 / 64.0,
    };
    let err = refused(try_go(&net, &Architecture::default(), &costs, 4, false));
    assert!(matches!(err, SimError::Limit(_)));
    let msg = err.to_string();
    assert!(msg.contains("latency_s.synapse_event"), "{msg}");
    assert!(msg.contains("4611.7 s"), "{msg}");
    // one step of it fits: 64 x 64 x 0.9 s = 3686 s, and the figures do not wrap
    let ok = go(&net, &Architecture::default(), &costs, 1);
    let r = &ok.samples[0];
    assert!(
        r.latency_s > 3000.0 && r.latency_s <= r.serial_time_s,
        "{r:?}"
    );
    assert!(r.critical_path_s <= r.latency_s);
}

#[test]
fn memory_bounding_limits_are_checked_before_allocating() {
    // a spike trace of 2^31 bytes
    let net = Network {
        layers: vec![input("in", 1 << 11), lif("a", 1 << 10, 2)],
        projections: vec![],
        weight_scale: 1.0,
    };
    let steps = 1 << 20;
    let arch = Architecture {
        neurons_per_core: 1 << 12,
        ..Architecture::default()
    };
    // refused before the 2 GiB input array would even be read
    let inputs = vec![0u8; 16];
    let costs = loihi();
    let req = |trace| SimRequest {
        network: &net,
        arch: &arch,
        costs: &costs,
        inputs: &inputs,
        samples: 1,
        steps,
        semantics: Semantics::Timestep,
        schedule: Default::default(),
        core_of: None,
        threads: Some(1),
        keep_spike_trace: trace,
        keep_timeline: false,
        cancel: None,
    };
    let err = refused(trueasync_engine::simulate(&req(false)));
    assert!(
        err.to_string().contains("per sample, the limit is 2^28"),
        "{err}"
    );
    let small = Network {
        layers: vec![input("in", 1 << 6), lif("a", 1 << 6, 2)],
        projections: vec![],
        weight_scale: 1.0,
    };
    let err = refused(trueasync_engine::simulate(&SimRequest {
        network: &small,
        samples: 1 << 10,
        steps: 1 << 14,
        ..req(true)
    }));
    assert!(err.to_string().contains("spike trace"), "{err}");
    // partitions x steps: 1500 single-neuron partitions for 2^15 steps > 2^25
    let many = Network {
        layers: vec![input("in", 1), lif("a", 1499, 2)],
        projections: vec![],
        weight_scale: 1.0,
    };
    let spread = Architecture {
        mesh_width: 40,
        mesh_height: 40,
        neurons_per_core: 1,
        ..Architecture::default()
    };
    let err = refused(trueasync_engine::simulate(&SimRequest {
        network: &many,
        arch: &spread,
        inputs: &vec![0u8; 1 << 15],
        steps: 1 << 15,
        ..req(false)
    }));
    assert!(err.to_string().contains("partitions"), "{err}");
}

#[test]
fn too_many_layers_are_refused() {
    let n = trueasync_engine::model::limits::MAX_LAYERS + 1;
    let mut layers = vec![input("in", 1)];
    layers.extend((1..n).map(|i| lif(&format!("l{i}"), 1, 2)));
    let net = Network {
        layers,
        projections: vec![],
        weight_scale: 1.0,
    };
    let err = net.validate().unwrap_err();
    assert!(
        err.to_string().contains("layers, the limit is 1024"),
        "{err}"
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "20 million records: run in release")]
fn the_timeline_budget_is_shared_by_all_samples() {
    // 256 samples of about 130,000 records each (5 per packet): more than 2e7 together,
    // refused while running, although no sample alone comes near the limit
    let net = Network {
        layers: vec![input("in", 64), lif("a", 64, 2)],
        projections: vec![dense(0, 1, 64, 64, 1)],
        weight_scale: 1.0 / 64.0,
    };
    let arch = Architecture {
        mesh_width: 2,
        mesh_height: 1,
        neurons_per_core: 64,
        ..Architecture::default()
    };
    let (samples, steps) = (256, 400);
    let inputs = vec![1u8; samples * steps * 64];
    let costs = loihi();
    let err = refused(trueasync_engine::simulate(&SimRequest {
        network: &net,
        arch: &arch,
        costs: &costs,
        inputs: &inputs,
        samples,
        steps,
        semantics: Semantics::Timestep,
        schedule: Default::default(),
        core_of: None,
        threads: Some(2),
        keep_spike_trace: false,
        keep_timeline: true,
        cancel: None,
    }));
    assert!(err.to_string().contains("timeline has more than"), "{err}");
}
