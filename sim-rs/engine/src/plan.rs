//! Everything derived once per (network, architecture, mapping) and shared by all samples:
//! compiled connectivity, per-neuron fan-out to cores, partitions and end-of-step token routes.

use std::collections::HashMap;

use crate::error::{Result, SimError};
use crate::model::{
    limits, Architecture, Connectivity, ConvGeometry, LayerKind, LifParams, Network,
};

/// How the neuron update and spike delivery are timed (docs/fixed-point.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// Same-step propagation, integer LIF; what the trainer evaluates.
    Timestep,
    /// Loihi / SANA-FE rules: one step of delay per synapse, every neuron updated every step.
    Sanafe,
}

impl std::str::FromStr for Semantics {
    type Err = crate::error::SimError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "timestep" => Ok(Self::Timestep),
            "sanafe" => Ok(Self::Sanafe),
            _ => Err(crate::error::SimError::Network(format!(
                "semantics must be 'timestep' or 'sanafe', got '{s}'"
            ))),
        }
    }
}

/// Connectivity in the form the functional pass scatters spikes with.
pub enum Compiled {
    /// Row-major `[pre][post]`.
    Dense { n_post: usize, w: Vec<i32> },
    /// Kernel as `[(c * kh + ky) * kw + kx][o]` so one tap is a contiguous run over channels.
    Conv { geo: ConvGeometry, w: Vec<i32> },
    /// CSR by pre neuron.
    Sparse {
        start: Vec<u32>,
        post: Vec<u32>,
        w: Vec<i32>,
    },
}

pub struct CompiledProjection {
    pub pre: usize,
    pub post: usize,
    /// Steps between a spike and its integration (0 or 1).
    pub delay: usize,
    pub conn: Compiled,
}

/// The neurons of one layer that sit on one core: the unit of scheduling on that core.
#[derive(Debug, Clone)]
pub struct Partition {
    pub core: u32,
    pub layer: u32,
    pub is_input: bool,
}

/// One destination of a neuron's spikes: a core and how many of its synapses live there.
#[derive(Debug, Clone, Copy)]
pub struct FanEntry {
    pub core: u32,
    pub synapses: u32,
}

pub struct Plan {
    pub semantics: Semantics,
    pub weight_scale: f64,
    pub n_cores: usize,
    pub layer_offsets: Vec<usize>,
    pub lif: Vec<Option<LifParams>>,
    pub projections: Vec<CompiledProjection>,
    /// Projections into each layer.
    pub incoming: Vec<Vec<usize>>,
    pub core_of: Vec<u32>,
    pub part_of: Vec<u32>,
    pub parts: Vec<Partition>,
    pub fan_start: Vec<u32>,
    pub fan: Vec<FanEntry>,
    /// Outgoing synapses of each neuron (over all projections).
    pub syn_out: Vec<u32>,
    /// Per neuron: hops its packets take per direction (east, west, north, south).
    pub hops_out: Vec<[u32; 4]>,
    /// Per partition: destination cores of its end-of-step tokens.
    pub token_dests: Vec<Vec<u32>>,
    /// Per (partition, index into token_dests): partitions on that core it unblocks, with delay.
    pub token_targets: Vec<Vec<Vec<(u32, u8)>>>,
    /// Per (partition, route): the smallest delay among the route's targets (a token of step t
    /// is of use only while t + that delay is a step of the sample).
    pub token_min_delay: Vec<Vec<u8>>,
    /// Per partition: tokens expected per step from delay-0 and delay-1 sources.
    pub expected_tokens: Vec<[u32; 2]>,
    /// Hops of every token route (per partition, per destination), for energy.
    pub token_hops: Vec<Vec<u32>>,
    /// Per partition: cores of the partitions that feed it (its credits go there).
    pub credit_dests: Vec<Vec<u32>>,
    /// Per (partition, index into credit_dests): the producer partitions on that core.
    pub credit_targets: Vec<Vec<Vec<u32>>>,
    pub credit_hops: Vec<Vec<u32>>,
    /// Per partition: credits it needs per step (one from every consumer partition).
    pub expected_credits: Vec<u32>,
}

/// Steps a producer may run ahead of its consumers: every neuron has this many dendritic
/// accumulator banks, and a producer starts step t only when each consumer has finished step
/// t - STEP_WINDOW (end-to-end credits; docs/simulator.md).
pub const STEP_WINDOW: usize = 2;

impl Plan {
    pub fn build(
        net: &Network,
        arch: &Architecture,
        core_of: Vec<u32>,
        semantics: Semantics,
    ) -> Result<Self> {
        let layer_offsets = net.layer_offsets();
        let n = net.n_neurons();
        let lif = net
            .layers
            .iter()
            .map(|l| match &l.kind {
                LayerKind::Lif(p) => Some(p.clone()),
                LayerKind::Input => None,
            })
            .collect();
        let projections = compile_projections(net, semantics)?;
        let mut incoming = vec![Vec::new(); net.layers.len()];
        for (i, p) in projections.iter().enumerate() {
            incoming[p.post].push(i);
        }
        let layer_of: Vec<u32> = (0..net.layers.len())
            .flat_map(|l| std::iter::repeat_n(l as u32, net.layers[l].size))
            .collect();
        let (parts, part_of) = partitions(net, &core_of, &layer_of, arch.n_cores());
        let (fan_start, fan, syn_out) = fanout(net, &projections, &layer_offsets, &core_of, n);
        let hops_out = (0..n)
            .map(|i| {
                let mut h = [0u32; 4];
                for e in &fan[fan_start[i] as usize..fan_start[i + 1] as usize] {
                    let d = route_hops(arch, core_of[i] as usize, e.core as usize);
                    for k in 0..4 {
                        h[k] += d[k];
                    }
                }
                h
            })
            .collect();
        let mut plan = Plan {
            semantics,
            weight_scale: net.weight_scale,
            n_cores: arch.n_cores(),
            layer_offsets,
            lif,
            projections,
            incoming,
            core_of,
            part_of,
            parts,
            fan_start,
            fan,
            syn_out,
            hops_out,
            token_dests: Vec::new(),
            token_targets: Vec::new(),
            token_min_delay: Vec::new(),
            expected_tokens: Vec::new(),
            token_hops: Vec::new(),
            credit_dests: Vec::new(),
            credit_targets: Vec::new(),
            credit_hops: Vec::new(),
            expected_credits: Vec::new(),
        };
        plan.build_tokens(arch)?;
        Ok(plan)
    }

    pub fn fanout_of(&self, neuron: usize) -> &[FanEntry] {
        &self.fan[self.fan_start[neuron] as usize..self.fan_start[neuron + 1] as usize]
    }

    /// A partition sends one token per step to every core holding a partition its layer feeds.
    fn build_tokens(&mut self, arch: &Architecture) -> Result<()> {
        let n_layers = self.lif.len();
        // delay of each layer-to-layer edge, and the layers each layer feeds / is fed by
        let mut delay: HashMap<(u32, u32), u8> = HashMap::new();
        for p in &self.projections {
            delay.insert((p.pre as u32, p.post as u32), p.delay as u8);
        }
        let mut feeds: Vec<Vec<u32>> = vec![Vec::new(); n_layers];
        let mut fed_by: Vec<Vec<u32>> = vec![Vec::new(); n_layers];
        for &(pre, post) in delay.keys() {
            feeds[pre as usize].push(post);
            fed_by[post as usize].push(pre);
        }
        for v in feeds.iter_mut().chain(fed_by.iter_mut()) {
            v.sort_unstable();
        }
        let mut parts_of_layer: Vec<Vec<u32>> = vec![Vec::new(); n_layers];
        for (i, part) in self.parts.iter().enumerate() {
            parts_of_layer[part.layer as usize].push(i as u32);
        }
        let n_parts = self.parts.len();
        self.token_dests = vec![Vec::new(); n_parts];
        self.token_targets = vec![Vec::new(); n_parts];
        self.token_hops = vec![Vec::new(); n_parts];
        self.token_min_delay = vec![Vec::new(); n_parts];
        self.expected_tokens = vec![[0, 0]; n_parts];
        let mut routes = 0usize;
        for src in 0..n_parts {
            let part = &self.parts[src];
            // the consumer partitions, grouped by their core in core order
            let mut targets: Vec<(u32, u32, u8)> = feeds[part.layer as usize]
                .iter()
                .flat_map(|&l| {
                    let d = delay[&(part.layer, l)];
                    parts_of_layer[l as usize].iter().map(move |&q| (q, d))
                })
                .map(|(q, d)| (self.parts[q as usize].core, q, d))
                .collect();
            targets.sort_unstable();
            for group in targets.chunk_by(|a, b| a.0 == b.0) {
                routes += 1;
                if routes > limits::MAX_TOKEN_ROUTES {
                    return Err(token_limit());
                }
                let core = group[0].0;
                for &(_, q, d) in group {
                    self.expected_tokens[q as usize][d as usize] += 1;
                }
                let hops = route_hops(arch, part.core as usize, core as usize)
                    .iter()
                    .sum();
                self.token_dests[src].push(core);
                self.token_min_delay[src].push(group.iter().map(|g| g.2).min().unwrap_or(0));
                self.token_targets[src].push(group.iter().map(|&(_, q, d)| (q, d)).collect());
                self.token_hops[src].push(hops);
            }
        }
        self.build_credits(arch, &fed_by, &parts_of_layer, routes)
    }

    /// Every consumer partition returns one credit per step to each core holding its producers.
    fn build_credits(
        &mut self,
        arch: &Architecture,
        fed_by: &[Vec<u32>],
        parts_of_layer: &[Vec<u32>],
        mut routes: usize,
    ) -> Result<()> {
        let n_parts = self.parts.len();
        self.credit_dests = vec![Vec::new(); n_parts];
        self.credit_targets = vec![Vec::new(); n_parts];
        self.credit_hops = vec![Vec::new(); n_parts];
        self.expected_credits = vec![0; n_parts];
        for q in 0..n_parts {
            let consumer = &self.parts[q];
            let mut producers: Vec<(u32, u32)> = fed_by[consumer.layer as usize]
                .iter()
                .flat_map(|&l| parts_of_layer[l as usize].iter())
                .map(|&p| (self.parts[p as usize].core, p))
                .collect();
            producers.sort_unstable();
            for group in producers.chunk_by(|a, b| a.0 == b.0) {
                routes += 1;
                if routes > limits::MAX_TOKEN_ROUTES {
                    return Err(token_limit());
                }
                let core = group[0].0;
                for &(_, p) in group {
                    self.expected_credits[p as usize] += 1;
                }
                self.credit_dests[q].push(core);
                self.credit_targets[q].push(group.iter().map(|&(_, p)| p).collect());
                self.credit_hops[q].push(
                    route_hops(arch, consumer.core as usize, core as usize)
                        .iter()
                        .sum(),
                );
            }
        }
        Ok(())
    }
}

fn token_limit() -> SimError {
    SimError::Limit(format!(
        "the mapping needs more than {} end-of-step token and credit routes (one per pair of \
         communicating partition and core); use fewer cores per layer or a coarser mapping",
        limits::MAX_TOKEN_ROUTES
    ))
}

/// Hops per direction (east, west, north, south) of the XY route between two cores.
pub fn route_hops(arch: &Architecture, from_core: usize, to_core: usize) -> [u32; 4] {
    let (x0, y0) = arch.tile_xy(arch.tile_of(from_core));
    let (x1, y1) = arch.tile_xy(arch.tile_of(to_core));
    let (dx, dy) = (x1 - x0, y1 - y0);
    [
        dx.max(0) as u32,
        (-dx).max(0) as u32,
        dy.max(0) as u32,
        (-dy).max(0) as u32,
    ]
}

fn compile_projections(net: &Network, semantics: Semantics) -> Result<Vec<CompiledProjection>> {
    let mut out = Vec::with_capacity(net.projections.len());
    for p in &net.projections {
        let delay = match semantics {
            Semantics::Sanafe => 1,
            Semantics::Timestep => usize::from(p.is_recurrent()),
        };
        let conn = match &p.conn {
            Connectivity::Dense { weights } => Compiled::Dense {
                n_post: net.layers[p.post].size,
                w: weights.clone(),
            },
            Connectivity::Conv2d { weights, .. } => {
                let geo = ConvGeometry::of(net, p)?;
                let taps = geo.in_c * geo.kh * geo.kw;
                let mut w = vec![0i32; taps * geo.out_c];
                for o in 0..geo.out_c {
                    for t in 0..taps {
                        w[t * geo.out_c + o] = weights[o * taps + t];
                    }
                }
                Compiled::Conv { geo, w }
            }
            Connectivity::Sparse { pre, post, weights } => {
                let n_pre = net.layers[p.pre].size;
                let mut start = vec![0u32; n_pre + 1];
                for &i in pre {
                    start[i as usize + 1] += 1;
                }
                for i in 0..n_pre {
                    start[i + 1] += start[i];
                }
                let mut fill = start.clone();
                let (mut tgt, mut w) = (vec![0u32; pre.len()], vec![0i32; pre.len()]);
                for k in 0..pre.len() {
                    let slot = &mut fill[pre[k] as usize];
                    tgt[*slot as usize] = post[k];
                    w[*slot as usize] = weights[k];
                    *slot += 1;
                }
                Compiled::Sparse {
                    start,
                    post: tgt,
                    w,
                }
            }
        };
        out.push(CompiledProjection {
            pre: p.pre,
            post: p.post,
            delay,
            conn,
        });
    }
    Ok(out)
}

fn partitions(
    net: &Network,
    core_of: &[u32],
    layer_of: &[u32],
    n_cores: usize,
) -> (Vec<Partition>, Vec<u32>) {
    let mut index = std::collections::HashMap::new();
    let mut parts = Vec::new();
    let mut part_of = Vec::with_capacity(core_of.len());
    for (neuron, &core) in core_of.iter().enumerate() {
        let layer = layer_of[neuron];
        let id = *index.entry((layer, core)).or_insert_with(|| {
            parts.push(Partition {
                core,
                layer,
                is_input: matches!(net.layers[layer as usize].kind, LayerKind::Input),
            });
            parts.len() as u32 - 1
        });
        part_of.push(id);
    }
    debug_assert!(parts.iter().all(|p| (p.core as usize) < n_cores));
    (parts, part_of)
}

/// Per neuron, the cores its outgoing synapses live on and how many there are on each.
fn fanout(
    net: &Network,
    projections: &[CompiledProjection],
    offsets: &[usize],
    core_of: &[u32],
    n: usize,
) -> (Vec<u32>, Vec<FanEntry>, Vec<u32>) {
    let mut per_neuron: Vec<Vec<FanEntry>> = vec![Vec::new(); n];
    for p in projections {
        let post_core = &core_of[offsets[p.post]..offsets[p.post + 1]];
        let pre_base = offsets[p.pre];
        match &p.conn {
            Compiled::Dense { .. } => {
                let hist = histogram(post_core.iter().copied());
                for i in 0..net.layers[p.pre].size {
                    per_neuron[pre_base + i].extend_from_slice(&hist);
                }
            }
            Compiled::Sparse { start, post, .. } => {
                for i in 0..net.layers[p.pre].size {
                    let t = &post[start[i] as usize..start[i + 1] as usize];
                    per_neuron[pre_base + i]
                        .extend(histogram(t.iter().map(|&j| post_core[j as usize])));
                }
            }
            Compiled::Conv { geo, .. } => {
                for i in 0..net.layers[p.pre].size {
                    let (y, x) = ((i / geo.in_c) / geo.in_w, (i / geo.in_c) % geo.in_w);
                    let mut cores = Vec::new();
                    geo.taps(y, x, |oy, ox, _, _| {
                        let base = (oy * geo.out_w + ox) * geo.out_c;
                        cores.extend_from_slice(&post_core[base..base + geo.out_c]);
                    });
                    per_neuron[pre_base + i].extend(histogram(cores.into_iter()));
                }
            }
        }
    }
    let mut start = Vec::with_capacity(n + 1);
    let mut fan = Vec::new();
    let mut syn_out = Vec::with_capacity(n);
    start.push(0u32);
    for mut entries in per_neuron {
        entries.sort_by_key(|e| e.core);
        let mut merged: Vec<FanEntry> = Vec::with_capacity(entries.len());
        for e in entries {
            match merged.last_mut() {
                Some(last) if last.core == e.core => last.synapses += e.synapses,
                _ => merged.push(e),
            }
        }
        syn_out.push(merged.iter().map(|e| e.synapses).sum());
        fan.extend(merged);
        start.push(fan.len() as u32);
    }
    (start, fan, syn_out)
}

fn histogram(cores: impl Iterator<Item = u32>) -> Vec<FanEntry> {
    let mut v: Vec<u32> = cores.collect();
    v.sort_unstable();
    let mut out: Vec<FanEntry> = Vec::new();
    for c in v {
        match out.last_mut() {
            Some(last) if last.core == c => last.synapses += 1,
            _ => out.push(FanEntry {
                core: c,
                synapses: 1,
            }),
        }
    }
    out
}
