//! The functional pass: what every neuron does at every step (docs/fixed-point.md).
//!
//! A chip whose units hand packets on in order computes a Kahn process network, so its spikes do
//! not depend on timing. The engine therefore computes spikes and event counts here, once per
//! sample, and the timing pass (`timing.rs`) replays the same events through the asynchronous
//! hardware model.

use crate::cancel::{self, CancelFlag};
use crate::error::Result;
use crate::plan::{Compiled, CompiledProjection, Plan, Semantics};

/// Event counts of one sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub fired: u64,
    pub synaptic_ops: u64,
    pub packets: u64,
    pub hops: u64,
    pub hops_by_dir: [u64; 4],
    pub neuron_updates: u64,
    pub lif_updates: u64,
    pub neuron_accesses: u64,
    pub lif_spikes: u64,
}

/// Per (step, partition) work of the soma, and per-core dynamic event counts.
pub struct Trace {
    pub steps: usize,
    pub n_parts: usize,
    /// CSR over `step * n_parts + part`: the neurons that fired (global index, ascending).
    pub spike_start: Vec<u32>,
    pub spikes: Vec<u32>,
    /// `[accesses, lif updates, lif spikes]` per `step * n_parts + part`.
    pub soma_work: Vec<[u32; 3]>,
    pub counts: Counts,
    pub spikes_per_layer: Vec<u64>,
    /// Spikes of every neuron of the last layer (the network's output).
    pub output_counts: Vec<u32>,
    /// Per core: synaptic ops at this core, packets received, packets sent, hops of packets sent.
    pub core_syn: Vec<u64>,
    pub core_packets_in: Vec<u64>,
    pub core_packets_out: Vec<u64>,
    pub core_hops: Vec<[u64; 4]>,
    /// Optional: per layer, `steps * size` bits (true = spiked).
    pub spike_trace: Option<Vec<Vec<bool>>>,
}

impl Trace {
    pub fn spikes_of(&self, step: usize, part: usize) -> &[u32] {
        let i = step * self.n_parts + part;
        &self.spikes[self.spike_start[i] as usize..self.spike_start[i + 1] as usize]
    }
}

/// Neuron state of one sample.
enum Potentials {
    Fixed(Vec<Vec<i64>>),
    Real(Vec<Vec<f64>>),
}

/// Run one sample. `inputs` is `steps * n_inputs` booleans (one byte each). Looks at `cancel`
/// once per step.
pub fn run(
    plan: &Plan,
    inputs: &[u8],
    steps: usize,
    n_inputs: usize,
    keep_trace: bool,
    cancel: Option<&CancelFlag>,
) -> Result<Trace> {
    let n_layers = plan.lif.len();
    let sizes: Vec<usize> = (0..n_layers)
        .map(|l| plan.layer_offsets[l + 1] - plan.layer_offsets[l])
        .collect();
    let n_parts = plan.parts.len();
    let n_cores = plan.n_cores;
    let mut potentials = match plan.semantics {
        Semantics::Timestep => Potentials::Fixed(sizes.iter().map(|&s| vec![0i64; s]).collect()),
        Semantics::Sanafe => Potentials::Real(sizes.iter().map(|&s| vec![0f64; s]).collect()),
    };
    let mut acc: Vec<Vec<i32>> = sizes.iter().map(|&s| vec![0; s]).collect();
    let mut touched: Vec<Vec<bool>> = sizes.iter().map(|&s| vec![false; s]).collect();
    let mut cur: Vec<Vec<u32>> = vec![Vec::new(); n_layers];
    let mut prev: Vec<Vec<u32>> = vec![Vec::new(); n_layers];
    let mut trace = Trace {
        steps,
        n_parts,
        spike_start: Vec::with_capacity(steps * n_parts + 1),
        spikes: Vec::new(),
        soma_work: vec![[0; 3]; steps * n_parts],
        counts: Counts::default(),
        spikes_per_layer: vec![0; n_layers],
        output_counts: vec![0; sizes[n_layers - 1]],
        core_syn: vec![0; n_cores],
        core_packets_in: vec![0; n_cores],
        core_packets_out: vec![0; n_cores],
        core_hops: vec![[0; 4]; n_cores],
        spike_trace: keep_trace.then(|| sizes.iter().map(|&s| vec![false; s * steps]).collect()),
    };
    let mut bucket_count = vec![0u32; n_parts];
    trace.spike_start.push(0);
    for t in 0..steps {
        cancel::check(cancel)?;
        let step_inputs = &inputs[t * n_inputs..(t + 1) * n_inputs];
        let mut input_base = 0;
        for l in 0..n_layers {
            let mut spikes = std::mem::take(&mut cur[l]);
            spikes.clear();
            match &plan.lif[l] {
                None => {
                    let bits = &step_inputs[input_base..input_base + sizes[l]];
                    spikes.extend(
                        bits.iter()
                            .enumerate()
                            .filter(|(_, &b)| b != 0)
                            .map(|(i, _)| i as u32),
                    );
                    input_base += sizes[l];
                    trace.counts.neuron_updates += spikes.len() as u64;
                }
                Some(_) => {
                    acc[l].fill(0);
                    touched[l].fill(false);
                    for &pi in &plan.incoming[l] {
                        let p = &plan.projections[pi];
                        let src = if p.delay == 0 {
                            &cur[p.pre]
                        } else {
                            &prev[p.pre]
                        };
                        scatter(p, src, &mut acc[l], &mut touched[l]);
                    }
                    update_layer(
                        plan,
                        l,
                        t,
                        &mut potentials,
                        &acc[l],
                        &touched[l],
                        &mut spikes,
                        &mut trace,
                    );
                }
            }
            record_spikes(plan, l, t, &spikes, &mut trace);
            cur[l] = spikes;
        }
        bucket_step(plan, &cur, &mut bucket_count, &mut trace);
        std::mem::swap(&mut cur, &mut prev);
    }
    Ok(trace)
}

/// Add the weights of every spiking pre neuron into `acc` and mark the neurons they reach.
fn scatter(p: &CompiledProjection, spikes: &[u32], acc: &mut [i32], touched: &mut [bool]) {
    if spikes.is_empty() {
        return;
    }
    match &p.conn {
        Compiled::Dense { n_post, w } => {
            for &i in spikes {
                let row = &w[i as usize * n_post..(i as usize + 1) * n_post];
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a += x;
                }
            }
            touched.fill(true);
        }
        Compiled::Conv { geo, w } => {
            let oc = geo.out_c;
            for &i in spikes {
                let i = i as usize;
                let (c, pix) = (i % geo.in_c, i / geo.in_c);
                let (y, x) = (pix / geo.in_w, pix % geo.in_w);
                geo.taps(y, x, |oy, ox, ky, kx| {
                    let base = (oy * geo.out_w + ox) * oc;
                    let k = ((c * geo.kh + ky) * geo.kw + kx) * oc;
                    for (a, &x) in acc[base..base + oc].iter_mut().zip(&w[k..k + oc]) {
                        *a += x;
                    }
                    touched[base..base + oc].fill(true);
                });
            }
        }
        Compiled::Sparse { start, post, w } => {
            for &i in spikes {
                for k in start[i as usize] as usize..start[i as usize + 1] as usize {
                    acc[post[k] as usize] += w[k];
                    touched[post[k] as usize] = true;
                }
            }
        }
    }
}

/// LIF update of one layer at one step; fills `spikes` (indices in the layer, ascending).
#[allow(clippy::too_many_arguments)] // the per-layer state of one step, kept apart for borrowing
fn update_layer(
    plan: &Plan,
    l: usize,
    t: usize,
    potentials: &mut Potentials,
    acc: &[i32],
    touched: &[bool],
    spikes: &mut Vec<u32>,
    trace: &mut Trace,
) {
    let p = plan.lif[l].as_ref().expect("LIF layer");
    let base = plan.layer_offsets[l];
    let work = &mut trace.soma_work[t * trace.n_parts..(t + 1) * trace.n_parts];
    let mut updates = 0u64;
    let mut accesses = 0u64;
    let subtract = p.reset_mode == crate::model::ResetMode::Subtract;
    match potentials {
        Potentials::Fixed(v) => {
            let v = &mut v[l];
            for i in 0..v.len() {
                if v[i] == 0 && !touched[i] && p.bias == 0 {
                    continue; // nothing to do: an idle neuron costs nothing
                }
                let part = plan.part_of[base + i] as usize;
                work[part][0] += 1;
                work[part][1] += 1;
                updates += 1;
                let mut x = (v[i] * p.leak_num as i64) >> p.leak_shift;
                x += p.bias as i64 + acc[i] as i64;
                if x >= p.threshold as i64 {
                    spikes.push(i as u32);
                    work[part][2] += 1;
                    x = if subtract {
                        x - p.threshold as i64
                    } else {
                        p.reset_value as i64
                    };
                }
                v[i] = x;
            }
            accesses += updates;
        }
        Potentials::Real(v) => {
            let v = &mut v[l];
            let scale = plan.weight_scale;
            let leak = p.leak_num as f64 / (1u64 << p.leak_shift) as f64;
            let threshold = p.threshold as f64 * scale;
            let bias = p.bias as f64 * scale;
            for i in 0..v.len() {
                let part = plan.part_of[base + i] as usize;
                work[part][0] += 1; // every neuron is accessed every step
                accesses += 1;
                if v[i] == 0.0 && !touched[i] && p.bias == 0 {
                    continue;
                }
                work[part][1] += 1;
                updates += 1;
                let mut x = v[i] * leak;
                x = (x * 64.0).trunc() / 64.0;
                x += bias + acc[i] as f64 * scale;
                if x > threshold {
                    spikes.push(i as u32);
                    work[part][2] += 1;
                    x = if subtract {
                        x - threshold
                    } else {
                        p.reset_value as f64 * scale
                    };
                }
                v[i] = x;
            }
        }
    }
    trace.counts.lif_updates += updates;
    trace.counts.neuron_updates += updates;
    trace.counts.neuron_accesses += accesses;
    trace.counts.lif_spikes += spikes.len() as u64;
}

/// Count the events every spike of layer `l` causes downstream.
fn record_spikes(plan: &Plan, l: usize, t: usize, spikes: &[u32], trace: &mut Trace) {
    let base = plan.layer_offsets[l];
    trace.spikes_per_layer[l] += spikes.len() as u64;
    if l + 2 == plan.layer_offsets.len() {
        for &i in spikes {
            trace.output_counts[i as usize] += 1;
        }
    }
    trace.counts.fired += spikes.len() as u64;
    for &i in spikes {
        let n = base + i as usize;
        let src = plan.core_of[n] as usize;
        let fan = plan.fanout_of(n);
        trace.counts.synaptic_ops += plan.syn_out[n] as u64;
        trace.counts.packets += fan.len() as u64;
        trace.core_packets_out[src] += fan.len() as u64;
        for e in fan {
            trace.core_syn[e.core as usize] += e.synapses as u64;
            trace.core_packets_in[e.core as usize] += 1;
        }
        let h = plan.hops_out[n];
        for (d, &hops) in h.iter().enumerate() {
            trace.counts.hops_by_dir[d] += hops as u64;
            trace.core_hops[src][d] += hops as u64;
        }
        trace.counts.hops += (h[0] + h[1] + h[2] + h[3]) as u64;
    }
    if let Some(st) = trace.spike_trace.as_mut() {
        let size = plan.layer_offsets[l + 1] - base;
        for &i in spikes {
            st[l][t * size + i as usize] = true;
        }
    }
}

/// Append this step's spikes grouped by partition (counting sort; ascending neuron order).
fn bucket_step(plan: &Plan, cur: &[Vec<u32>], count: &mut [u32], trace: &mut Trace) {
    count.fill(0);
    for (l, spikes) in cur.iter().enumerate() {
        let base = plan.layer_offsets[l];
        for &i in spikes {
            count[plan.part_of[base + i as usize] as usize] += 1;
        }
    }
    let first = trace.spikes.len() as u32;
    let mut fill = Vec::with_capacity(count.len());
    let mut at = first;
    for &c in count.iter() {
        fill.push(at);
        at += c;
        trace.spike_start.push(at);
    }
    trace.spikes.resize(at as usize, 0);
    for (l, spikes) in cur.iter().enumerate() {
        let base = plan.layer_offsets[l];
        for &i in spikes {
            let n = base + i as usize;
            let slot = &mut fill[plan.part_of[n] as usize];
            trace.spikes[*slot as usize] = n as u32;
            *slot += 1;
        }
    }
}
