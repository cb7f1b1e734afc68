//! Small builders shared by the engine's integration tests.

#![allow(dead_code)]

use trueasync_engine::{
    Architecture, Connectivity, CostModel, Layer, LayerKind, LifParams, Network, Projection,
    ResetMode, Semantics, SimOutput, SimRequest,
};

pub fn lif(name: &str, size: usize, threshold: i32) -> Layer {
    Layer {
        name: name.into(),
        size,
        shape: None,
        kind: LayerKind::Lif(LifParams {
            threshold,
            leak_num: 7,
            leak_shift: 3,
            bias: 0,
            reset_mode: ResetMode::Hard,
            reset_value: 0,
        }),
    }
}

pub fn input(name: &str, size: usize) -> Layer {
    Layer {
        name: name.into(),
        size,
        shape: None,
        kind: LayerKind::Input,
    }
}

pub fn dense(pre: usize, post: usize, n_pre: usize, n_post: usize, w: i32) -> Projection {
    Projection {
        pre,
        post,
        conn: Connectivity::Dense {
            weights: vec![w; n_pre * n_post],
        },
    }
}

/// in(4) -> a(3) -> b(2), all weights `w`.
pub fn chain(w: i32) -> Network {
    Network {
        layers: vec![input("in", 4), lif("a", 3, 2), lif("b", 2, 2)],
        projections: vec![dense(0, 1, 4, 3, w), dense(1, 2, 3, 2, w)],
        weight_scale: 1.0 / 64.0,
    }
}

pub fn run(
    net: &Network,
    arch: &Architecture,
    inputs: &[u8],
    samples: usize,
    steps: usize,
    semantics: Semantics,
) -> trueasync_engine::Result<SimOutput> {
    let costs = CostModel::preset("loihi").unwrap();
    trueasync_engine::simulate(&SimRequest {
        network: net,
        arch,
        costs: &costs,
        inputs,
        samples,
        steps,
        semantics,
        schedule: Default::default(),
        core_of: None,
        threads: Some(1),
        keep_spike_trace: true,
        keep_timeline: false,
        cancel: None,
    })
}
