//! Placing neurons on cores (`packed`, `spread`, `locality`) and checking that they fit.

use crate::error::{Result, SimError};
use crate::model::{Architecture, Connectivity, ConvGeometry, MappingPolicy, Network};

/// The core of every neuron (global index) under the architecture's mapping policy.
pub fn map_network(net: &Network, arch: &Architecture) -> Result<Vec<u32>> {
    let n_cores = arch.n_cores();
    let capacity = arch.neurons_per_core as usize;
    let held = n_cores.saturating_mul(capacity);
    if net.n_neurons() > held {
        return Err(SimError::Capacity(format!(
            "the network has {} neurons but {n_cores} cores x {capacity} neurons per core hold {held}",
            net.n_neurons(),
        )));
    }
    let order = core_order(arch);
    let core_of = match arch.mapping {
        MappingPolicy::Packed => packed(net, &order, capacity),
        MappingPolicy::Spread => spread(net, &order),
        MappingPolicy::Locality => locality(net, &order, capacity),
    };
    check_fit(net, arch, &core_of)?;
    Ok(core_of)
}

/// Cores in id order (packed, spread) or along a serpentine walk of the mesh (locality).
fn core_order(arch: &Architecture) -> Vec<u32> {
    if arch.mapping != MappingPolicy::Locality {
        return (0..arch.n_cores() as u32).collect();
    }
    let mut order = Vec::with_capacity(arch.n_cores());
    for x in 0..arch.mesh_width as i32 {
        let ys: Vec<i32> = if x % 2 == 0 {
            (0..arch.mesh_height as i32).collect()
        } else {
            (0..arch.mesh_height as i32).rev().collect()
        };
        for tile in ys.into_iter().filter_map(|y| arch.tile_at(x, y)) {
            for k in 0..arch.cores_per_tile as usize {
                order.push((tile * arch.cores_per_tile as usize + k) as u32);
            }
        }
    }
    order
}

/// Fill cores one after the other in neuron order.
fn packed(net: &Network, order: &[u32], capacity: usize) -> Vec<u32> {
    (0..net.n_neurons()).map(|n| order[n / capacity]).collect()
}

/// Balanced: every core gets an equal contiguous share (at most ceil(neurons / cores)), so all
/// cores are used and the load is even; fits whenever the network fits at all.
fn spread(net: &Network, order: &[u32]) -> Vec<u32> {
    let n = net.n_neurons();
    let block = n.div_ceil(order.len()).max(1);
    (0..n).map(|i| order[i / block]).collect()
}

/// Each layer on its own run of consecutive cores along the serpentine walk, so layers that talk
/// to each other sit on neighbouring tiles; spare cores go to layers in proportion to their size.
/// Falls back to packing along the walk when there are fewer cores than layers need.
fn locality(net: &Network, order: &[u32], capacity: usize) -> Vec<u32> {
    let need: Vec<usize> = net
        .layers
        .iter()
        .map(|l| l.size.div_ceil(capacity))
        .collect();
    let total_need: usize = need.iter().sum();
    if total_need > order.len() {
        return packed(net, order, capacity);
    }
    let spare = order.len() - total_need;
    let n = net.n_neurons();
    let mut cores: Vec<usize> = need.clone();
    let mut given = 0;
    for (i, layer) in net.layers.iter().enumerate() {
        let extra = spare * layer.size / n;
        cores[i] += extra;
        given += extra;
    }
    // Hand out what rounding left over to the largest layers first (stable by index).
    let mut by_size: Vec<usize> = (0..net.layers.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(net.layers[i].size));
    for &i in by_size.iter().cycle().take(spare - given) {
        cores[i] += 1;
    }
    let mut core_of = Vec::with_capacity(n);
    let mut first = 0;
    for (layer, &k) in net.layers.iter().zip(&cores) {
        let used = k.min(layer.size);
        for i in 0..layer.size {
            core_of.push(order[first + i * used / layer.size]);
        }
        first += k;
    }
    core_of
}

/// Neurons per core, synapse memory per core and weight precision.
pub fn check_fit(net: &Network, arch: &Architecture, core_of: &[u32]) -> Result<()> {
    let n_cores = arch.n_cores();
    if core_of.len() != net.n_neurons() {
        return Err(SimError::Capacity(format!(
            "core_of has {} entries but the network has {} neurons",
            core_of.len(),
            net.n_neurons()
        )));
    }
    if let Some((n, &c)) = core_of
        .iter()
        .enumerate()
        .find(|(_, &c)| c as usize >= n_cores)
    {
        return Err(SimError::Capacity(format!(
            "neuron {n} is mapped to core {c} but the architecture has {n_cores} cores"
        )));
    }
    check_weight_bits(net, arch)?;
    let offsets = net.layer_offsets();
    let mut per_core = vec![0usize; n_cores];
    for &c in core_of {
        per_core[c as usize] += 1;
    }
    if let Some((c, &count)) = per_core
        .iter()
        .enumerate()
        .find(|(_, &k)| k > arch.neurons_per_core as usize)
    {
        let layers: Vec<&str> = net
            .layers
            .iter()
            .enumerate()
            .filter(|(i, _)| core_of[offsets[*i]..offsets[i + 1]].contains(&(c as u32)))
            .map(|(_, l)| l.name.as_str())
            .collect();
        return Err(SimError::Capacity(format!(
            "core {c} holds {count} neurons (layers {}) but neurons_per_core is {}",
            layers.join(", "),
            arch.neurons_per_core
        )));
    }
    check_synapse_memory(net, arch, core_of)
}

fn check_weight_bits(net: &Network, arch: &Architecture) -> Result<()> {
    let lo = -(1i64 << (arch.weight_bits - 1));
    let hi = (1i64 << (arch.weight_bits - 1)) - 1;
    for p in &net.projections {
        let w = p.weights();
        // in i32, which vectorises; the bounds include 0 as before
        let (min, max) = w
            .iter()
            .fold((0i32, 0i32), |(a, b), &x| (a.min(x), b.max(x)));
        let (min, max) = (min as i64, max as i64);
        if min < lo || max > hi {
            let need = bits_for(min, max);
            return Err(SimError::Capacity(format!(
                "projection {} has weights in [{min}, {max}], which need {need} bits; weight_bits is {}",
                net.projection_name(p),
                arch.weight_bits
            )));
        }
    }
    Ok(())
}

/// Signed bits needed to hold every value of [min, max].
pub fn bits_for(min: i64, max: i64) -> u32 {
    (1..=32)
        .find(|&b| min >= -(1i64 << (b - 1)) && max < (1i64 << (b - 1)))
        .unwrap_or(33)
}

/// Synapses are stored at the core of their target neuron; a conv kernel once per core per
/// output channel it holds; a sparse synapse also stores a 16-bit target index.
fn check_synapse_memory(net: &Network, arch: &Architecture, core_of: &[u32]) -> Result<()> {
    let n_cores = arch.n_cores();
    let wb = arch.weight_bits as u64;
    let offsets = net.layer_offsets();
    let mut bits = vec![0u64; n_cores];
    for p in &net.projections {
        let post = &core_of[offsets[p.post]..offsets[p.post + 1]];
        match &p.conn {
            Connectivity::Dense { .. } => {
                let n_pre = net.layers[p.pre].size as u64;
                for &c in post {
                    bits[c as usize] = bits[c as usize].saturating_add(n_pre * wb);
                }
            }
            Connectivity::Sparse { post: targets, .. } => {
                for &t in targets {
                    bits[post[t as usize] as usize] += wb + 16;
                }
            }
            Connectivity::Conv2d { .. } => {
                let geo = ConvGeometry::of(net, p)?;
                let kernel = (geo.in_c * geo.kh * geo.kw) as u64 * wb; // <= weights x 16
                                                                       // (core, output channel) pairs held: one kernel each (bounded by the layer)
                let mut held: Vec<(u32, usize)> = post
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| (c, i % geo.out_c))
                    .collect();
                held.sort_unstable();
                held.dedup();
                for (c, _) in held {
                    bits[c as usize] += kernel;
                }
            }
        }
    }
    let limit = arch.synapse_memory_kib as u64 * 8192;
    if let Some((c, &b)) = bits.iter().enumerate().find(|(_, &b)| b > limit) {
        let layers: Vec<&str> = net
            .projections
            .iter()
            .filter(|p| core_of[offsets[p.post]..offsets[p.post + 1]].contains(&(c as u32)))
            .map(|p| net.layers[p.post].name.as_str())
            .collect();
        return Err(SimError::Capacity(format!(
            "core {c} needs {:.1} KiB of synapse memory for layer(s) {} but synapse_memory_kib is {}",
            b as f64 / 8192.0,
            layers.join(", "),
            arch.synapse_memory_kib
        )));
    }
    Ok(())
}
