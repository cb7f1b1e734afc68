//! Benchmark of `simulate` on deterministic synthetic MLPs, with a fingerprint of every output.
//!
//! `cargo run --release --example bench_timing` prints, per workload and semantics (and, for
//! `small` and `narrow`, the clocked schedule), the median
//! wall time of 5 runs and a hash of every output (latency, quiescent time, stalls, tokens,
//! credits, serial time, critical path, per-core busy times and energies, timeline). Optimisations of the
//! engine must leave the fingerprints unchanged.
//!
//! `bench_timing small|large|narrow timestep|sanafe` runs that one case once (for callgrind).

use std::time::Instant;

use trueasync_engine::{
    Architecture, Connectivity, CostModel, Layer, LayerKind, LifParams, MappingPolicy, Network,
    Projection, ResetMode, SampleResult, Schedule, Semantics, SimRequest,
};

/// Fixed-seed 64-bit LCG (Knuth's MMIX constants); the high bits are the output.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

struct Workload {
    name: &'static str,
    net: Network,
    arch: Architecture,
    inputs: Vec<u8>,
    steps: usize,
    /// Steps of the run with the timeline on (the large one would exceed the record limit).
    timeline_steps: usize,
    preset: &'static str,
}

fn layer(name: &str, size: usize, input: bool) -> Layer {
    let kind = if input {
        LayerKind::Input
    } else {
        LayerKind::Lif(LifParams {
            threshold: 64,
            leak_num: 7,
            leak_shift: 3,
            bias: 0,
            reset_mode: ResetMode::Hard,
            reset_value: 0,
        })
    };
    Layer {
        name: name.into(),
        size,
        shape: None,
        kind,
    }
}

/// A dense MLP with int8-ish weights in [-24, 39] (mostly excitatory, so activity propagates).
fn mlp(sizes: &[usize], rng: &mut Lcg) -> Network {
    let layers = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| layer(&format!("l{i}"), n, i == 0))
        .collect();
    let projections = (1..sizes.len())
        .map(|i| Projection {
            pre: i - 1,
            post: i,
            conn: Connectivity::Dense {
                weights: (0..sizes[i - 1] * sizes[i])
                    .map(|_| (rng.next() % 64) as i32 - 24)
                    .collect(),
            },
        })
        .collect();
    Network {
        layers,
        projections,
        weight_scale: 1.0 / 64.0,
    }
}

fn workload(
    name: &'static str,
    sizes: &[usize],
    mesh: u32,
    npc: u32,
    steps: usize,
    timeline_steps: usize,
    seed: u64,
) -> Workload {
    let mut rng = Lcg(seed);
    let net = mlp(sizes, &mut rng);
    // Poisson-like inputs: each input fires with probability 0.1 every step.
    let inputs = (0..steps * sizes[0])
        .map(|_| u8::from(rng.next() % 1000 < 100))
        .collect();
    let arch = Architecture {
        mesh_width: mesh,
        mesh_height: mesh,
        neurons_per_core: npc,
        fifo_depth: 16,
        mapping: MappingPolicy::Packed,
        ..Architecture::default()
    };
    Workload {
        name,
        net,
        arch,
        inputs,
        steps,
        timeline_steps,
        preset: "loihi",
    }
}

fn workloads() -> Vec<Workload> {
    // Off the cost model's reference design: 2-flit packets on 16-bit links, 7-bit weights in
    // 512 KiB, 2 lanes, async28 (leakage, token energy), so every design-dependent term counts.
    let mut narrow = workload("narrow", &[784, 512, 256, 10], 4, 98, 50, 50, 4242);
    narrow.arch = Architecture {
        link_width_bits: 16,
        weight_bits: 7,
        synapse_memory_kib: 512,
        synapse_lanes: 2,
        ..narrow.arch
    };
    narrow.preset = "async28";
    vec![
        workload("small", &[784, 512, 256, 10], 4, 98, 100, 100, 12345),
        workload("large", &[784, 2048, 1024, 10], 8, 61, 50, 20, 67890),
        narrow,
    ]
}

fn simulate(w: &Workload, sem: Semantics, schedule: Schedule, timeline: bool) -> Vec<SampleResult> {
    let costs = CostModel::preset(w.preset).unwrap();
    let steps = if timeline { w.timeline_steps } else { w.steps };
    let n_in = w.net.n_inputs();
    trueasync_engine::simulate(&SimRequest {
        network: &w.net,
        arch: &w.arch,
        costs: &costs,
        inputs: &w.inputs[..steps * n_in],
        samples: 1,
        steps,
        semantics: sem,
        schedule,
        core_of: None,
        threads: Some(1),
        keep_spike_trace: false,
        keep_timeline: timeline,
        cancel: None,
    })
    .expect("simulate")
    .samples
}

/// FNV-1a over 64-bit words.
struct Fnv(u64);

impl Fnv {
    fn add(&mut self, x: u64) {
        for b in x.to_le_bytes() {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    fn f(&mut self, x: f64) {
        self.add(x.to_bits());
    }
}

fn fingerprint(samples: &[SampleResult]) -> String {
    let mut h = Fnv(0xcbf29ce484222325);
    let mut lines = Vec::new();
    for s in samples {
        for x in [
            s.latency_s,
            s.quiescent_s,
            s.critical_path_s,
            s.serial_time_s,
            s.energy_j,
            s.edp(),
        ] {
            h.f(x);
        }
        for x in [s.stalls, s.tokens, s.credits, s.token_hops, s.barriers] {
            h.add(x);
        }
        s.energy_breakdown_j.iter().for_each(|&x| h.f(x));
        s.core_utilisation.iter().for_each(|&x| h.f(x));
        s.core_dynamic_energy_j.iter().for_each(|&x| h.f(x));
        s.spikes_per_layer.iter().for_each(|&x| h.add(x));
        s.output_counts.iter().for_each(|&x| h.add(x as u64));
        let c = &s.counts;
        for x in [c.fired, c.synaptic_ops, c.packets, c.hops, c.neuron_updates] {
            h.add(x);
        }
        let mut t = Fnv(0xcbf29ce484222325);
        let tl = s.timeline.as_deref().unwrap_or(&[]);
        for r in tl {
            for x in [r.start_fs, r.end_fs, r.unit as u64, r.index as u64] {
                t.add(x);
            }
            t.add(((r.port as u64) << 32) | r.step as u64);
        }
        lines.push(format!(
            "latency_bits={:016x} quiescent_bits={:016x} critical_bits={:016x} serial_bits={:016x} stalls={} tokens={} credits={} token_hops={} packets={} timeline_records={} timeline_hash={:016x}",
            s.latency_s.to_bits(),
            s.quiescent_s.to_bits(),
            s.critical_path_s.to_bits(),
            s.serial_time_s.to_bits(),
            s.stalls,
            s.tokens,
            s.credits,
            s.token_hops,
            c.packets,
            tl.len(),
            t.0
        ));
        h.add(t.0);
    }
    format!("{}\n  all={:016x}", lines.join("\n  "), h.0)
}

trait Edp {
    fn edp(&self) -> f64;
}

impl Edp for SampleResult {
    fn edp(&self) -> f64 {
        self.energy_j * self.latency_s
    }
}

fn semantics(name: &str) -> Semantics {
    name.parse().expect("semantics")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = workloads();
    if let [w, sem] = args.as_slice() {
        let w = all.iter().find(|x| x.name == w).expect("workload");
        let r = simulate(w, semantics(sem), Schedule::Asynchronous, false);
        println!("{} {sem}: latency_s={}", w.name, r[0].latency_s);
        return;
    }
    // every workload in both semantics asynchronously, and two of them clocked as well
    let mut cases: Vec<(&Workload, &str, Schedule)> = Vec::new();
    for w in &all {
        for sem in ["timestep", "sanafe"] {
            cases.push((w, sem, Schedule::Asynchronous));
        }
    }
    for name in ["small", "narrow"] {
        let w = all.iter().find(|x| x.name == name).expect("workload");
        cases.push((w, "timestep", Schedule::Clocked));
    }
    for (w, sem, schedule) in cases {
        let s = semantics(sem);
        let label = match schedule {
            Schedule::Asynchronous => sem.to_string(),
            Schedule::Clocked => format!("{sem} clocked"),
        };
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let t0 = Instant::now();
                std::hint::black_box(simulate(w, s, schedule, false));
                t0.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        // The fingerprint covers the timeline too (a run with timeline on, not timed).
        let fp = fingerprint(&simulate(w, s, schedule, true));
        let plain = fingerprint(&simulate(w, s, schedule, false));
        eprintln!("{} {label}: median {:.1} ms", w.name, times[2] * 1e3);
        println!("{} {label}:\n  {fp}\n  plain: {plain}", w.name);
    }
}
