//! The network and architecture descriptions the engine accepts, and their validation.
//!
//! The neuron arithmetic is defined once in `docs/fixed-point.md`; the hardware template in
//! `docs/simulator.md`.

use crate::error::{Result, SimError};

/// Hard limits of one request (documented in docs/simulator.md).
pub mod limits {
    pub const MAX_NEURONS: usize = 1 << 24;
    /// Layers of one network (the plan keeps a layer-to-layer table).
    pub const MAX_LAYERS: usize = 1024;
    pub const MAX_SYNAPSES: u64 = 1 << 31;
    pub const MAX_STEPS: usize = 1 << 20;
    pub const MAX_SAMPLES: usize = 1 << 20;
    pub const MAX_MESH_SIDE: u32 = 256;
    pub const MAX_CORES_PER_TILE: u32 = 64;
    /// samples x steps x neurons: bounds the work of one call.
    pub const MAX_NEURON_STEPS: u64 = 1 << 40;
    /// Worst-case |membrane potential| a layer may reach in one step.
    pub const MAX_POTENTIAL: i64 = 1 << 30;
    pub const MAX_TIMELINE_RECORDS: usize = 20_000_000;
    /// FIFO slots of one chip (every router port and core FIFO times fifo_depth).
    pub const MAX_FIFO_SLOTS: u64 = 1 << 24;
    /// steps x neurons of one sample: bounds the memory of a sample in flight (its spikes, at
    /// 4 bytes each, and the per-step tables), and keeps spike offsets within u32.
    pub const MAX_SAMPLE_NEURON_STEPS: u64 = 1 << 28;
    /// steps x partitions of one sample: the timing pass's per-(partition, step) tables.
    pub const MAX_PARTITION_STEPS: u64 = 1 << 25;
    /// samples x steps x neurons bytes of a spike trace (one byte per neuron and step).
    pub const MAX_TRACE_BYTES: u64 = 1 << 30;
    /// End-of-step token and credit routes of one chip (per step: one packet each).
    pub const MAX_TOKEN_ROUTES: usize = 1 << 24;
    /// The longest latency one event may have after voltage scaling (1 s, in fs): a larger
    /// figure is almost surely in the wrong unit.
    pub const MAX_EVENT_FS: u64 = 1_000_000_000_000_000;
    /// Simulated time of one sample (2^62 fs, about 4611 s): every time fits a u64 of fs.
    pub const MAX_SAMPLE_FS: u128 = 1 << 62;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetMode {
    Hard,
    Subtract,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LifParams {
    pub threshold: i32,
    pub leak_num: u32,
    pub leak_shift: u32,
    pub bias: i32,
    pub reset_mode: ResetMode,
    pub reset_value: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LayerKind {
    Input,
    Lif(LifParams),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub size: usize,
    /// (height, width, channels); neurons are numbered channels-last.
    pub shape: Option<[usize; 3]>,
    pub kind: LayerKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Connectivity {
    /// `weights[pre * n_post + post]`.
    Dense { weights: Vec<i32> },
    /// `weights[((o * in_c + i) * kh + ky) * kw + kx]` (PyTorch order).
    Conv2d {
        weights: Vec<i32>,
        out_channels: usize,
        in_channels: usize,
        kernel_h: usize,
        kernel_w: usize,
        stride: usize,
        padding: usize,
    },
    Sparse {
        pre: Vec<u32>,
        post: Vec<u32>,
        weights: Vec<i32>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub pre: usize,
    pub post: usize,
    pub conn: Connectivity,
}

impl Projection {
    /// Feed-forward projections go to a later layer; the others close a loop (one step late).
    pub fn is_recurrent(&self) -> bool {
        self.pre >= self.post
    }

    pub fn weights(&self) -> &[i32] {
        match &self.conn {
            Connectivity::Dense { weights }
            | Connectivity::Conv2d { weights, .. }
            | Connectivity::Sparse { weights, .. } => weights,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub layers: Vec<Layer>,
    pub projections: Vec<Projection>,
    /// Real value of one weight LSB (used by `sanafe` semantics and reports).
    pub weight_scale: f64,
}

/// A sum of sizes that saturates at usize::MAX instead of wrapping (then refused by a limit).
fn saturating_sum(sizes: impl Iterator<Item = usize>) -> usize {
    sizes.fold(0usize, |a, b| a.saturating_add(b))
}

impl Network {
    /// Neurons of every layer (saturating: a request this large is refused by validate()).
    pub fn n_neurons(&self) -> usize {
        saturating_sum(self.layers.iter().map(|l| l.size))
    }

    pub fn n_inputs(&self) -> usize {
        saturating_sum(
            self.layers
                .iter()
                .filter(|l| matches!(l.kind, LayerKind::Input))
                .map(|l| l.size),
        )
    }

    pub fn layer_offsets(&self) -> Vec<usize> {
        let mut offsets = Vec::with_capacity(self.layers.len() + 1);
        let mut total = 0;
        for layer in &self.layers {
            offsets.push(total);
            total += layer.size;
        }
        offsets.push(total);
        offsets
    }

    pub fn projection_name(&self, p: &Projection) -> String {
        format!("{}->{}", self.layers[p.pre].name, self.layers[p.post].name)
    }

    /// Number of synapses a projection holds.
    pub fn synapse_count(&self, p: &Projection) -> u64 {
        match &p.conn {
            Connectivity::Dense { .. } => {
                (self.layers[p.pre].size as u64).saturating_mul(self.layers[p.post].size as u64)
            }
            Connectivity::Sparse { pre, .. } => pre.len() as u64,
            Connectivity::Conv2d { .. } => {
                let geo = ConvGeometry::of(self, p).expect("validated");
                geo.synapse_count()
            }
        }
    }

    pub fn validate(&self) -> Result<()> {
        let err = |m: String| Err(SimError::Network(m));
        if self.layers.is_empty() {
            return err("the network has no layers".into());
        }
        if !self.weight_scale.is_finite() || self.weight_scale <= 0.0 {
            return err(format!(
                "weight_scale must be a positive finite number, got {}",
                self.weight_scale
            ));
        }
        if self.layers.len() > limits::MAX_LAYERS {
            return Err(SimError::Limit(format!(
                "{} layers, the limit is {}",
                self.layers.len(),
                limits::MAX_LAYERS
            )));
        }
        if let Some(l) = self.layers.iter().find(|l| l.size > limits::MAX_NEURONS) {
            return Err(SimError::Limit(format!(
                "layer '{}' has {} neurons, the limit is {} for the whole network",
                l.name,
                l.size,
                limits::MAX_NEURONS
            )));
        }
        if self.n_inputs() == 0 {
            return err("the network has no input layer".into());
        }
        if self.n_neurons() > limits::MAX_NEURONS {
            return Err(SimError::Limit(format!(
                "{} neurons, the limit is {}",
                self.n_neurons(),
                limits::MAX_NEURONS
            )));
        }
        let mut names = std::collections::HashSet::new();
        for layer in &self.layers {
            validate_layer(layer)?;
            if !names.insert(layer.name.as_str()) {
                return err(format!("two layers are named '{}'", layer.name));
            }
        }
        let mut synapses = 0u64;
        for p in &self.projections {
            self.validate_projection(p)?;
            synapses = synapses.saturating_add(self.synapse_count(p));
        }
        if synapses > limits::MAX_SYNAPSES {
            return Err(SimError::Limit(format!(
                "{synapses} synapses, the limit is {}",
                limits::MAX_SYNAPSES
            )));
        }
        self.validate_potential_range()
    }

    fn validate_projection(&self, p: &Projection) -> Result<()> {
        let n_layers = self.layers.len();
        if p.pre >= n_layers || p.post >= n_layers {
            return Err(SimError::Network(format!(
                "projection refers to layer index {} but there are {n_layers} layers",
                p.pre.max(p.post)
            )));
        }
        let name = self.projection_name(p);
        let bad = |m: String| Err(SimError::Network(format!("projection {name}: {m}")));
        if matches!(self.layers[p.post].kind, LayerKind::Input) {
            return bad("its target is an input layer; only LIF layers receive synapses".into());
        }
        let (n_pre, n_post) = (self.layers[p.pre].size, self.layers[p.post].size);
        match &p.conn {
            Connectivity::Dense { weights } => {
                let want = n_pre as u64 * n_post as u64; // both <= 2^24
                if weights.len() as u64 != want {
                    return bad(format!(
                        "dense weights must have shape [{n_pre}, {n_post}] ({want} values), got {} values",
                        weights.len()
                    ));
                }
            }
            Connectivity::Sparse { pre, post, weights } => {
                if pre.len() != post.len() || pre.len() != weights.len() {
                    return bad(format!(
                        "sparse pre_index, post_index and weights must have equal lengths, got {}, {}, {}",
                        pre.len(),
                        post.len(),
                        weights.len()
                    ));
                }
                if let Some(&i) = pre.iter().find(|&&i| i as usize >= n_pre) {
                    return bad(format!(
                        "pre_index {i} is outside the {n_pre} neurons of the source layer"
                    ));
                }
                if let Some(&i) = post.iter().find(|&&i| i as usize >= n_post) {
                    return bad(format!(
                        "post_index {i} is outside the {n_post} neurons of the target layer"
                    ));
                }
            }
            Connectivity::Conv2d { .. } => {
                ConvGeometry::of(self, p)?;
            }
        }
        Ok(())
    }

    /// Refuse layers whose worst-case potential could overflow the fixed-point range.
    fn validate_potential_range(&self) -> Result<()> {
        let mut worst = vec![0i64; self.layers.len()];
        for p in &self.projections {
            let abs_sum: i64 = match &p.conn {
                Connectivity::Dense { weights } => weights.iter().map(|&w| (w as i64).abs()).sum(),
                Connectivity::Sparse { weights, .. } => {
                    weights.iter().map(|&w| (w as i64).abs()).sum()
                }
                Connectivity::Conv2d { weights, .. } => {
                    // Every output neuron sees at most the whole kernel of its channel.
                    let geo = ConvGeometry::of(self, p).expect("validated");
                    let per_out = weights.len() / geo.out_c;
                    (0..geo.out_c)
                        .map(|o| {
                            weights[o * per_out..(o + 1) * per_out]
                                .iter()
                                .map(|&w| (w as i64).abs())
                                .sum::<i64>()
                        })
                        .max()
                        .unwrap_or(0)
                }
            };
            worst[p.post] = worst[p.post].saturating_add(abs_sum);
        }
        for (layer, sum) in self.layers.iter().zip(worst) {
            if let LayerKind::Lif(lif) = &layer.kind {
                let total = sum
                    .saturating_add((lif.bias as i64).abs())
                    .saturating_add((lif.threshold as i64).abs())
                    .saturating_add((lif.reset_value as i64).abs());
                if total >= limits::MAX_POTENTIAL {
                    return Err(SimError::Limit(format!(
                        "layer '{}': the sum of |incoming weights| + |bias| + |threshold| + |reset| is {total}, \
                         the fixed-point limit is 2^30 (see docs/fixed-point.md)",
                        layer.name
                    )));
                }
            }
        }
        Ok(())
    }
}

fn validate_layer(layer: &Layer) -> Result<()> {
    let bad = |m: String| Err(SimError::Network(format!("layer '{}': {m}", layer.name)));
    if layer.name.is_empty() {
        return Err(SimError::Network("a layer has an empty name".into()));
    }
    if layer.size == 0 {
        return bad("size must be at least 1".into());
    }
    if let Some([h, w, c]) = layer.shape {
        let held = h.checked_mul(w).and_then(|hw| hw.checked_mul(c));
        if held != Some(layer.size) {
            let held = held.map_or("more than 2^64".to_string(), |n| n.to_string());
            return bad(format!(
                "shape ({h}, {w}, {c}) holds {held} neurons but size is {}",
                layer.size
            ));
        }
    }
    if let LayerKind::Lif(p) = &layer.kind {
        if p.threshold <= 0 {
            return bad(format!(
                "threshold must be a positive integer, got {}",
                p.threshold
            ));
        }
        if p.leak_shift > 16 {
            return bad(format!(
                "leak_shift must be in 0..=16, got {}",
                p.leak_shift
            ));
        }
        if p.leak_num > (1 << p.leak_shift) {
            return bad(format!(
                "leak_num must be in 0..=2**leak_shift = {}, got {}",
                1u32 << p.leak_shift,
                p.leak_num
            ));
        }
    }
    Ok(())
}

/// Shapes of a conv2d projection, checked against its layers.
#[derive(Debug, Clone, Copy)]
pub struct ConvGeometry {
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub out_c: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeometry {
    pub fn of(net: &Network, p: &Projection) -> Result<Self> {
        let Connectivity::Conv2d {
            weights,
            out_channels,
            in_channels,
            kernel_h,
            kernel_w,
            stride,
            padding,
        } = &p.conn
        else {
            return Err(SimError::Network("not a conv2d projection".into()));
        };
        let name = net.projection_name(p);
        let bad = |m: String| Err(SimError::Network(format!("projection {name}: {m}")));
        let (Some(src), Some(dst)) = (net.layers[p.pre].shape, net.layers[p.post].shape) else {
            return bad("conv2d needs a shape (height, width, channels) on both layers".into());
        };
        if *stride == 0
            || *kernel_h == 0
            || *kernel_w == 0
            || *out_channels == 0
            || *in_channels == 0
        {
            return bad("stride, kernel size and channel counts must be at least 1".into());
        }
        let want = out_channels
            .checked_mul(*in_channels)
            .and_then(|n| n.checked_mul(*kernel_h))
            .and_then(|n| n.checked_mul(*kernel_w));
        if want != Some(weights.len()) {
            return bad(format!(
                "weights must have shape [{out_channels}, {in_channels}, {kernel_h}, {kernel_w}], got {} values",
                weights.len()
            ));
        }
        if src[2] != *in_channels || dst[2] != *out_channels {
            return bad(format!(
                "kernel maps {in_channels} -> {out_channels} channels but the layers have {} -> {}",
                src[2], dst[2]
            ));
        }
        // The padded input; a padding beyond the network's size limit is refused (it could only
        // add taps that fall outside the input).
        if *padding > limits::MAX_NEURONS {
            return bad(format!(
                "padding {padding} is larger than the limit of {} neurons",
                limits::MAX_NEURONS
            ));
        }
        let (padded_h, padded_w) = (src[0] + 2 * padding, src[1] + 2 * padding); // <= 3 * 2^24
        if padded_h < *kernel_h || padded_w < *kernel_w {
            return bad("the kernel is larger than the padded input".into());
        }
        let out_h = (padded_h - kernel_h) / stride + 1;
        let out_w = (padded_w - kernel_w) / stride + 1;
        if out_h != dst[0] || out_w != dst[1] {
            return bad(format!(
                "an input of {}x{} with kernel {kernel_h}x{kernel_w}, stride {stride}, padding {padding} gives \
                 {out_h}x{out_w}, but the target layer is {}x{}",
                src[0], src[1], dst[0], dst[1]
            ));
        }
        Ok(Self {
            in_h: src[0],
            in_w: src[1],
            in_c: src[2],
            out_h,
            out_w,
            out_c: *out_channels,
            kh: *kernel_h,
            kw: *kernel_w,
            stride: *stride,
            pad: *padding,
        })
    }

    /// Output pixels (oy, ox) and kernel taps (ky, kx) that input pixel (y, x) reaches.
    pub fn taps(&self, y: usize, x: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        for ky in 0..self.kh {
            let ny = y + self.pad;
            if ny < ky || !(ny - ky).is_multiple_of(self.stride) {
                continue;
            }
            let oy = (ny - ky) / self.stride;
            if oy >= self.out_h {
                continue;
            }
            for kx in 0..self.kw {
                let nx = x + self.pad;
                if nx < kx || !(nx - kx).is_multiple_of(self.stride) {
                    continue;
                }
                let ox = (nx - kx) / self.stride;
                if ox < self.out_w {
                    f(oy, ox, ky, kx);
                }
            }
        }
    }

    /// Synapses: taps factor into a y and an x part, so the count is (valid (oy, ky) pairs) x
    /// (valid (ox, kx) pairs) x channels, in O(kernel) work whatever the layer sizes.
    pub fn synapse_count(&self) -> u64 {
        let axis = |input: usize, out: usize, k: usize| -> u64 {
            // iy = oy * stride - pad + ky must lie in 0..input, for oy in 0..out
            (0..k)
                .map(|ky| {
                    let lo = self.pad.saturating_sub(ky).div_ceil(self.stride);
                    let hi = (input + self.pad)
                        .checked_sub(ky + 1)
                        .map(|m| m / self.stride);
                    match hi {
                        Some(hi) if hi >= lo => (hi.min(out - 1) + 1).saturating_sub(lo) as u64,
                        _ => 0,
                    }
                })
                .sum()
        };
        let pairs = axis(self.in_h, self.out_h, self.kh)
            .saturating_mul(axis(self.in_w, self.out_w, self.kw));
        pairs.saturating_mul(self.in_c as u64 * self.out_c as u64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingPolicy {
    Packed,
    Spread,
    Locality,
}

impl std::str::FromStr for MappingPolicy {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "packed" => Ok(Self::Packed),
            "spread" => Ok(Self::Spread),
            "locality" => Ok(Self::Locality),
            _ => Err(SimError::Architecture(format!(
                "mapping must be one of packed, spread, locality; got '{s}'"
            ))),
        }
    }
}

/// One point of the hardware template (DESIGN.md section 3).
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    pub mesh_width: u32,
    pub mesh_height: u32,
    pub cores_per_tile: u32,
    pub neurons_per_core: u32,
    pub synapse_memory_kib: u32,
    pub weight_bits: u32,
    pub synapse_lanes: u32,
    pub fifo_depth: u32,
    pub link_width_bits: u32,
    /// Supply voltage; `None` means the cost model's nominal voltage.
    pub voltage_v: Option<f64>,
    pub mapping: MappingPolicy,
}

impl Default for Architecture {
    fn default() -> Self {
        Self {
            mesh_width: 4,
            mesh_height: 4,
            cores_per_tile: 1,
            neurons_per_core: 1024,
            synapse_memory_kib: 1024,
            weight_bits: 8,
            synapse_lanes: 1,
            fifo_depth: 8,
            link_width_bits: 32,
            voltage_v: None,
            mapping: MappingPolicy::Packed,
        }
    }
}

/// Bits that number `n` things (0 for one thing): an address field's width.
pub fn index_bits(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// The packet format of the template (docs/cost-model.md): every spike, end-of-step token and
/// step credit is one packet of `header + destination + source + payload` bits, cut into
/// `ceil(bits / link_width_bits)` flits. Address fields are as wide as the design needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketFormat {
    /// Packet kind: spike, end-of-step token or step credit.
    pub header_bits: u32,
    /// Destination tile (x, y) and core within the tile, for XY routing and ejection.
    pub destination_bits: u32,
    /// Source core and neuron (axon) within it: the key of the synapse lookup.
    pub source_bits: u32,
    /// Binary spikes carry no payload (the packet is the event); tokens and credits neither.
    pub payload_bits: u32,
}

/// Bits of the packet kind (spike, token, credit).
pub const PACKET_HEADER_BITS: u32 = 2;

impl PacketFormat {
    pub fn bits(&self) -> u32 {
        self.header_bits + self.destination_bits + self.source_bits + self.payload_bits
    }
}

impl Architecture {
    pub fn n_tiles(&self) -> usize {
        self.mesh_width as usize * self.mesh_height as usize
    }

    pub fn n_cores(&self) -> usize {
        self.n_tiles().saturating_mul(self.cores_per_tile as usize)
    }

    pub fn tile_of(&self, core: usize) -> usize {
        core / self.cores_per_tile as usize
    }

    /// Tile coordinates: x = tile / mesh_height, y = tile % mesh_height (SANA-FE's numbering).
    pub fn tile_xy(&self, tile: usize) -> (i32, i32) {
        let h = self.mesh_height as usize;
        ((tile / h) as i32, (tile % h) as i32)
    }

    /// The tile at (x, y), or None off the mesh.
    pub fn tile_at(&self, x: i32, y: i32) -> Option<usize> {
        let (x, y) = (usize::try_from(x).ok()?, usize::try_from(y).ok()?);
        (x < self.mesh_width as usize && y < self.mesh_height as usize)
            .then(|| x * self.mesh_height as usize + y)
    }

    pub fn packet_format(&self) -> PacketFormat {
        let bits = |n: u32| index_bits(n as u64);
        PacketFormat {
            header_bits: PACKET_HEADER_BITS,
            destination_bits: bits(self.mesh_width)
                + bits(self.mesh_height)
                + bits(self.cores_per_tile),
            source_bits: index_bits(self.n_cores() as u64) + bits(self.neurons_per_core),
            payload_bits: 0,
        }
    }

    /// Flits of one packet (store-and-forward: a router sends a packet once it holds all).
    pub fn flits_per_packet(&self) -> u32 {
        self.packet_format().bits().div_ceil(self.link_width_bits)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(SimError::Architecture(m));
        let in_range = |name: &str, v: u32, lo: u32, hi: u32| -> Result<()> {
            if v < lo || v > hi {
                Err(SimError::Architecture(format!(
                    "{name} must be in {lo}..={hi}, got {v}"
                )))
            } else {
                Ok(())
            }
        };
        in_range("mesh_width", self.mesh_width, 1, limits::MAX_MESH_SIDE)?;
        in_range("mesh_height", self.mesh_height, 1, limits::MAX_MESH_SIDE)?;
        in_range(
            "cores_per_tile",
            self.cores_per_tile,
            1,
            limits::MAX_CORES_PER_TILE,
        )?;
        in_range("neurons_per_core", self.neurons_per_core, 1, 1 << 20)?;
        in_range("synapse_memory_kib", self.synapse_memory_kib, 1, 1 << 22)?;
        in_range("weight_bits", self.weight_bits, 1, 16)?;
        in_range("synapse_lanes", self.synapse_lanes, 1, 1024)?;
        in_range("fifo_depth", self.fifo_depth, 1, 4096)?;
        in_range("link_width_bits", self.link_width_bits, 1, 1024)?;
        let fifos =
            self.n_tiles() as u64 * (4 + self.cores_per_tile as u64) + 3 * self.n_cores() as u64;
        if fifos * self.fifo_depth as u64 > limits::MAX_FIFO_SLOTS {
            return Err(SimError::Limit(format!(
                "{fifos} FIFOs of fifo_depth {} are {} packet slots, the limit is 2^24; use a smaller mesh or depth",
                self.fifo_depth,
                fifos * self.fifo_depth as u64
            )));
        }
        if let Some(v) = self.voltage_v {
            if !v.is_finite() || v <= 0.0 {
                return bad(format!(
                    "voltage_v must be a positive finite number, got {v}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed-form conv synapse count equals counting every tap.
    #[test]
    fn conv_synapse_count_matches_the_taps() {
        for (h, w, k, stride, pad) in [
            (5, 7, 3, 1, 0),
            (5, 7, 3, 1, 1),
            (9, 9, 3, 2, 0),
            (9, 8, 4, 3, 2),
            (1, 1, 1, 1, 0),
            (4, 4, 5, 1, 2),
            (6, 3, 2, 5, 1),
        ] {
            let out_h = (h + 2 * pad - k) / stride + 1;
            let out_w = (w + 2 * pad - k) / stride + 1;
            let geo = ConvGeometry {
                in_h: h,
                in_w: w,
                in_c: 2,
                out_h,
                out_w,
                out_c: 3,
                kh: k,
                kw: k,
                stride,
                pad,
            };
            let mut taps = 0u64;
            for y in 0..h {
                for x in 0..w {
                    geo.taps(y, x, |_, _, _, _| taps += 1);
                }
            }
            assert_eq!(geo.synapse_count(), taps * 6, "{geo:?}");
        }
    }

    #[test]
    fn index_bits_number_things() {
        assert_eq!(
            [1, 2, 3, 4, 5, 98, 1024, 1025].map(index_bits),
            [0, 1, 2, 2, 3, 7, 10, 11]
        );
        assert_eq!(index_bits(u64::MAX), 64);
    }
}
