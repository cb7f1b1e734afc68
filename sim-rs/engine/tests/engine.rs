//! Behaviour of the engine through its public entry point.

mod common;

use common::*;
use trueasync_engine::{Architecture, MappingPolicy, Semantics, SimError};

#[test]
fn a_hand_computed_chain_fires_as_the_arithmetic_says() {
    // every input spikes every step; a(t) gets 4*w = 4 >= threshold 2: fires every step
    let net = chain(1);
    let out = run(
        &net,
        &Architecture::default(),
        &[1u8; 4 * 3],
        1,
        3,
        Semantics::Timestep,
    )
    .unwrap();
    let r = &out.samples[0];
    assert_eq!(r.spikes_per_layer, vec![12, 9, 6]);
    assert_eq!(r.counts.synaptic_ops, 12 * 3 + 9 * 2);
    assert_eq!(r.output_counts, vec![3, 3]);
    // sanafe semantics: one step of delay per synapse and strict threshold (4/64 > 2/64)
    let out = run(
        &net,
        &Architecture::default(),
        &[1u8; 4 * 3],
        1,
        3,
        Semantics::Sanafe,
    )
    .unwrap();
    // a fires at steps 2 and 3, b (3/64 > 2/64) only at step 3
    assert_eq!(out.samples[0].spikes_per_layer, vec![12, 6, 2]);
}

#[test]
fn results_do_not_depend_on_threads() {
    let net = chain(1);
    let inputs: Vec<u8> = (0..8 * 5 * 4)
        .map(|i| ((i * 7 + 3) % 5 == 0) as u8)
        .collect();
    let costs = trueasync_engine::CostModel::preset("async28").unwrap();
    let arch = Architecture {
        mesh_width: 2,
        mesh_height: 2,
        neurons_per_core: 3,
        ..Architecture::default()
    };
    let go = |threads| {
        trueasync_engine::simulate(&trueasync_engine::SimRequest {
            network: &net,
            arch: &arch,
            costs: &costs,
            inputs: &inputs,
            samples: 8,
            steps: 5,
            semantics: Semantics::Timestep,
            schedule: Default::default(),
            core_of: None,
            threads: Some(threads),
            keep_spike_trace: false,
            keep_timeline: false,
            cancel: None,
        })
        .unwrap()
    };
    let (a, b) = (go(1), go(2));
    for (x, y) in a.samples.iter().zip(&b.samples) {
        assert_eq!(x.latency_s.to_bits(), y.latency_s.to_bits());
        assert_eq!(x.energy_j.to_bits(), y.energy_j.to_bits());
        assert_eq!(x.counts, y.counts);
    }
}

#[test]
fn latency_lies_between_the_critical_path_and_the_serial_time() {
    let net = chain(1);
    let arch = Architecture {
        mesh_width: 3,
        mesh_height: 2,
        neurons_per_core: 2,
        ..Architecture::default()
    };
    let out = run(&net, &arch, &[1u8; 4 * 6], 1, 6, Semantics::Timestep).unwrap();
    let r = &out.samples[0];
    assert!(r.critical_path_s > 0.0);
    assert!(
        r.critical_path_s <= r.latency_s && r.latency_s <= r.serial_time_s,
        "{r:?}"
    );
}

#[test]
fn mapping_policies_respect_capacity() {
    let net = chain(1);
    for mapping in [
        MappingPolicy::Packed,
        MappingPolicy::Spread,
        MappingPolicy::Locality,
    ] {
        let arch = Architecture {
            mesh_width: 3,
            mesh_height: 3,
            neurons_per_core: 2,
            mapping,
            ..Architecture::default()
        };
        let core_of = trueasync_engine::map_network(&net, &arch).unwrap();
        let mut per_core = vec![0; arch.n_cores()];
        for c in core_of {
            per_core[c as usize] += 1;
        }
        assert!(
            per_core.iter().all(|&n| n <= 2),
            "{mapping:?}: {per_core:?}"
        );
    }
}

#[test]
fn a_network_that_does_not_fit_says_which_core_and_limit() {
    let net = chain(1);
    let arch = Architecture {
        mesh_width: 1,
        mesh_height: 1,
        neurons_per_core: 4,
        ..Architecture::default()
    };
    let err = run(&net, &arch, &[0u8; 4], 1, 1, Semantics::Timestep).unwrap_err();
    assert!(matches!(err, SimError::Capacity(_)));
    assert!(err.to_string().contains("9 neurons"), "{err}");
    let arch = Architecture {
        weight_bits: 2,
        ..Architecture::default()
    };
    let err = run(&chain(5), &arch, &[0u8; 4], 1, 1, Semantics::Timestep).unwrap_err();
    assert!(err.to_string().contains("need 4 bits"), "{err}");
}

#[test]
fn bad_inputs_are_refused() {
    let net = chain(1);
    let arch = Architecture::default();
    let err = run(&net, &arch, &[], 0, 1, Semantics::Timestep).unwrap_err();
    assert!(matches!(err, SimError::Inputs(_)), "{err}");
    let err = run(&net, &arch, &[1u8; 3], 1, 1, Semantics::Timestep).unwrap_err();
    assert!(
        err.to_string().contains("shape [samples, steps, 4]"),
        "{err}"
    );
    let err = run(&net, &arch, &[2u8; 4], 1, 1, Semantics::Timestep).unwrap_err();
    assert!(err.to_string().contains("0 or 1"), "{err}");
    let zero = Architecture {
        mesh_width: 0,
        ..Architecture::default()
    };
    let err = run(&net, &zero, &[1u8; 4], 1, 1, Semantics::Timestep).unwrap_err();
    assert!(
        err.to_string().contains("mesh_width must be in 1..=256"),
        "{err}"
    );
}

#[test]
fn an_unmapped_core_spends_nothing() {
    let net = chain(1);
    let arch = Architecture {
        mesh_width: 4,
        mesh_height: 4,
        neurons_per_core: 9,
        ..Architecture::default()
    };
    let out = run(&net, &arch, &[1u8; 4 * 4], 1, 4, Semantics::Timestep).unwrap();
    let r = &out.samples[0];
    assert!(r.core_dynamic_energy_j[0] > 0.0);
    assert!(r.core_dynamic_energy_j[1..].iter().all(|&e| e == 0.0));
    assert!(r.core_utilisation[1..].iter().all(|&u| u == 0.0));
}

/// A request that runs for about ten seconds (7 ms a sample): in(64) -> 256 -> 64, 2x2 mesh.
fn long_request_parts() -> (trueasync_engine::Network, Architecture, Vec<u8>) {
    let net = trueasync_engine::Network {
        layers: vec![input("in", 64), lif("a", 256, 3), lif("b", 64, 3)],
        projections: vec![dense(0, 1, 64, 256, 1), dense(1, 2, 256, 64, 1)],
        weight_scale: 1.0 / 64.0,
    };
    let arch = Architecture {
        mesh_width: 2,
        mesh_height: 2,
        neurons_per_core: 128,
        ..Architecture::default()
    };
    let (samples, steps) = (2000, 50);
    let inputs = (0..samples * steps * 64)
        .map(|i| u8::from(i % 7 == 0))
        .collect();
    (net, arch, inputs)
}

#[test]
fn a_cancelled_flag_stops_the_simulation_with_cancelled() {
    use trueasync_engine::{CancelFlag, CostModel, SimRequest};
    let (net, arch, inputs) = long_request_parts();
    let costs = CostModel::preset("async28").unwrap();
    let flag = CancelFlag::new();
    let request = |threads| SimRequest {
        network: &net,
        arch: &arch,
        costs: &costs,
        inputs: &inputs,
        samples: 2000,
        steps: 50,
        semantics: Semantics::Timestep,
        schedule: Default::default(),
        core_of: None,
        threads: Some(threads),
        keep_spike_trace: false,
        keep_timeline: false,
        cancel: Some(&flag),
    };
    // Set before the call: refused at once.
    let early = flag.clone();
    early.cancel();
    assert!(flag.is_cancelled());
    let err = trueasync_engine::simulate(&request(1)).unwrap_err();
    assert_eq!(err, SimError::Cancelled);
    assert_eq!(err.to_string(), "the simulation was cancelled");

    // Set from another thread while two rayon workers run: both stop.
    let flag = CancelFlag::new();
    let request = SimRequest {
        cancel: Some(&flag),
        ..request(2)
    };
    let started = std::time::Instant::now();
    let stopped_after = std::thread::scope(|s| {
        let canceller = flag.clone();
        s.spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            canceller.cancel();
        });
        let out = trueasync_engine::simulate(&request);
        assert_eq!(out.unwrap_err(), SimError::Cancelled);
        started.elapsed()
    });
    // 2000 samples take about 14 s on one thread; it stopped soon after the 100 ms mark.
    assert!(stopped_after.as_secs_f64() < 2.0, "{stopped_after:?}");
}

#[test]
fn latency_ends_at_the_output_layers_last_update() {
    // sanafe semantics: the output layer's step t needs the hidden layer's step t - 1, so the
    // hidden layer's last step (40 neurons, slow) runs on after the output layer has finished.
    let net = trueasync_engine::Network {
        layers: vec![input("in", 4), lif("a", 40, 2), lif("b", 1, 2)],
        projections: vec![dense(0, 1, 4, 40, 1), dense(1, 2, 40, 1, 1)],
        weight_scale: 1.0 / 64.0,
    };
    let arch = Architecture {
        mesh_width: 3,
        mesh_height: 1,
        neurons_per_core: 40,
        ..Architecture::default()
    };
    let mut core_of = vec![0; 4];
    core_of.extend([1; 40]);
    core_of.push(2);
    let costs = trueasync_engine::CostModel::preset("loihi").unwrap();
    let out = trueasync_engine::simulate(&trueasync_engine::SimRequest {
        network: &net,
        arch: &arch,
        costs: &costs,
        inputs: &[1u8; 4 * 4],
        samples: 1,
        steps: 4,
        semantics: Semantics::Sanafe,
        schedule: Default::default(),
        core_of: Some(core_of),
        threads: Some(1),
        keep_spike_trace: false,
        keep_timeline: true,
        cancel: None,
    })
    .unwrap();
    let r = &out.samples[0];
    let soma_end = |core: u32| {
        r.timeline
            .as_ref()
            .unwrap()
            .iter()
            .filter(|t| t.unit == trueasync_engine::timing::Unit::Soma && t.index == core)
            .map(|t| t.end_fs)
            .max()
            .unwrap()
    };
    assert_eq!(r.latency_s, soma_end(2) as f64 / 1e15);
    assert!(soma_end(1) > soma_end(2));
    assert!(r.quiescent_s > r.latency_s, "{r:?}");
    assert!(r.critical_path_s <= r.latency_s && r.latency_s <= r.serial_time_s);
}

#[test]
fn the_critical_path_skips_the_tokens_that_are_not_sent() {
    // Found by the fuzz: a recurrent layer's last-step token to its own core (route 0) is not
    // sent, so the token to the output layer's core (route 1) leaves one message earlier; the
    // bound must not count the one that was not sent.
    // No spikes at all: the soma jobs take no time, so the tokens alone set the times and the
    // bound is tight.
    let net = trueasync_engine::Network {
        layers: vec![input("in", 1), lif("a", 9, 1), lif("b", 4, 1)],
        projections: vec![
            dense(1, 2, 9, 4, 0),
            dense(1, 1, 9, 9, 0),
            dense(0, 1, 1, 9, 1),
        ],
        weight_scale: 1.0 / 64.0,
    };
    let arch = Architecture {
        mesh_width: 3,
        mesh_height: 1,
        neurons_per_core: 9,
        ..Architecture::default()
    };
    let mut core_of = vec![0];
    core_of.extend([1; 9]);
    core_of.extend([2; 4]);
    let costs = trueasync_engine::CostModel::preset("loihi").unwrap();
    for steps in 1..6 {
        let out = trueasync_engine::simulate(&trueasync_engine::SimRequest {
            network: &net,
            arch: &arch,
            costs: &costs,
            inputs: &vec![0u8; steps],
            samples: 1,
            steps,
            semantics: Semantics::Timestep,
            schedule: Default::default(),
            core_of: Some(core_of.clone()),
            threads: Some(1),
            keep_spike_trace: false,
            keep_timeline: false,
            cancel: None,
        })
        .unwrap();
        let r = &out.samples[0];
        assert!(
            r.critical_path_s <= r.latency_s && r.latency_s <= r.quiescent_s,
            "{steps} steps: {} {} {}",
            r.critical_path_s,
            r.latency_s,
            r.quiescent_s
        );
    }
}
