//! `simulate`: validate, map, plan once; then every sample in parallel (functional + timing).

use std::sync::atomic::AtomicUsize;

use rayon::prelude::*;

use crate::cancel::{self, CancelFlag};
use crate::cost::{CostModel, ScaledCosts, FS_PER_S};
use crate::error::{Result, SimError};
use crate::functional::{self, Counts, Trace};
use crate::mapping;
use crate::model::{limits, Architecture, Network};
use crate::plan::{Plan, Semantics};
use crate::timing::{self, Schedule, TimelineRecord, Timing};

/// One simulation request. `inputs` holds `samples * steps * n_inputs` bytes (0 or 1).
pub struct SimRequest<'a> {
    pub network: &'a Network,
    pub arch: &'a Architecture,
    pub costs: &'a CostModel,
    pub inputs: &'a [u8],
    pub samples: usize,
    pub steps: usize,
    pub semantics: Semantics,
    /// Asynchronous (self-timed) or clocked (a global barrier per step); same function.
    pub schedule: Schedule,
    /// Explicit placement (global neuron index -> core); `None` uses `arch.mapping`.
    pub core_of: Option<Vec<u32>>,
    /// Worker threads; `None` = rayon's default. Results never depend on it.
    pub threads: Option<usize>,
    pub keep_spike_trace: bool,
    pub keep_timeline: bool,
    /// Set from another thread to stop the simulation with `SimError::Cancelled`.
    pub cancel: Option<&'a CancelFlag>,
}

/// Energy components (J), in the order of `ENERGY_UNITS`.
pub const ENERGY_UNITS: [&str; 5] = ["synapse", "soma", "network", "sync", "static"];

#[derive(Debug, Clone)]
pub struct SampleResult {
    pub counts: Counts,
    pub tokens: u64,
    pub credits: u64,
    /// Hops of tokens and credits.
    pub token_hops: u64,
    pub stalls: u64,
    /// Clocked schedule: barriers passed (steps - 1); 0 asynchronous.
    pub barriers: u64,
    pub spikes_per_layer: Vec<u64>,
    pub output_counts: Vec<u32>,
    pub energy_breakdown_j: [f64; 5],
    pub energy_j: f64,
    /// From the first input event (t = 0) to the output layer's last update.
    pub latency_s: f64,
    /// Until the last event of any kind (the chip is quiescent): >= latency_s.
    pub quiescent_s: f64,
    pub critical_path_s: f64,
    pub serial_time_s: f64,
    pub core_utilisation: Vec<f64>,
    pub core_dynamic_energy_j: Vec<f64>,
    pub spike_trace: Option<Vec<Vec<bool>>>,
    pub timeline: Option<Vec<TimelineRecord>>,
}

#[derive(Debug)]
pub struct SimOutput {
    pub samples: Vec<SampleResult>,
    pub core_of: Vec<u32>,
    pub area_mm2: f64,
    pub static_power_w: f64,
}

pub fn simulate(req: &SimRequest) -> Result<SimOutput> {
    req.network.validate()?;
    req.arch.validate()?;
    req.costs.validate()?;
    validate_inputs(req)?;
    let costs = req.costs.scaled(req.arch)?;
    let core_of = match &req.core_of {
        Some(c) => {
            mapping::check_fit(req.network, req.arch, c)?;
            c.clone()
        }
        None => mapping::map_network(req.network, req.arch)?,
    };
    cancel::check(req.cancel)?;
    let plan = Plan::build(req.network, req.arch, core_of, req.semantics)?;
    let part_steps = plan.parts.len() as u64 * req.steps as u64;
    if part_steps > limits::MAX_PARTITION_STEPS {
        return Err(SimError::Limit(format!(
            "{} partitions (layer-core pairs) x {} steps = {part_steps} per sample, the limit is 2^25; \
             simulate fewer steps or use fewer cores per layer",
            plan.parts.len(),
            req.steps
        )));
    }
    cancel::check(req.cancel)?;
    let per_sample = req.steps * req.network.n_inputs(); // validated: <= inputs.len()
    let timeline_budget = AtomicUsize::new(0);
    let route_table = timing::RouteTable::new(req.arch); // once for every sample
    let one = |s: usize| {
        run_sample(
            req,
            &plan,
            &costs,
            &req.inputs[s * per_sample..(s + 1) * per_sample],
            &timeline_budget,
            &route_table,
        )
    };
    let run_all =
        || -> Result<Vec<SampleResult>> { (0..req.samples).into_par_iter().map(one).collect() };
    let samples = match req.threads {
        // One thread: the calling thread runs the samples in order, with no pool to start and
        // stop on every call (results never depend on the thread count).
        Some(1) => (0..req.samples).map(one).collect::<Result<Vec<_>>>()?,
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| SimError::Limit(format!("cannot start {n} threads: {e}")))?
            .install(run_all)?,
        None => run_all()?,
    };
    let records: usize = samples
        .iter()
        .filter_map(|s| s.timeline.as_ref().map(Vec::len))
        .sum();
    if records > limits::MAX_TIMELINE_RECORDS {
        return Err(SimError::Limit(format!(
            "the timeline has {records} records, the limit is {}; simulate fewer samples or steps with timeline on",
            limits::MAX_TIMELINE_RECORDS
        )));
    }
    Ok(SimOutput {
        samples,
        core_of: plan.core_of,
        area_mm2: costs.area_mm2,
        static_power_w: costs.static_power_w,
    })
}

fn validate_inputs(req: &SimRequest) -> Result<()> {
    let n_in = req.network.n_inputs();
    let bad = |m: String| Err(SimError::Inputs(m));
    if req.samples == 0 || req.steps == 0 {
        return bad(format!(
            "inputs must hold at least one sample and one step, got {} samples x {} steps",
            req.samples, req.steps
        ));
    }
    if req.samples > limits::MAX_SAMPLES || req.steps > limits::MAX_STEPS {
        return Err(SimError::Limit(format!(
            "{} samples x {} steps; the limits are {} samples and {} steps",
            req.samples,
            req.steps,
            limits::MAX_SAMPLES,
            limits::MAX_STEPS
        )));
    }
    // samples, steps <= 2^20 and neurons <= 2^24 (validated): the products fit a u128 (and a
    // u64 each, but samples x steps x neurons can reach 2^64).
    let (samples, steps) = (req.samples as u128, req.steps as u128);
    let neurons = req.network.n_neurons() as u128;
    let work = samples * steps * neurons;
    if work > limits::MAX_NEURON_STEPS as u128 {
        return Err(SimError::Limit(format!(
            "samples x steps x neurons = {work}, the limit is 2^40; split the request"
        )));
    }
    if steps * neurons > limits::MAX_SAMPLE_NEURON_STEPS as u128 {
        return Err(SimError::Limit(format!(
            "steps x neurons = {} per sample, the limit is 2^28 (the memory of a sample in \
             flight); simulate fewer steps per sample",
            steps * neurons
        )));
    }
    if req.keep_spike_trace && work > limits::MAX_TRACE_BYTES as u128 {
        return Err(SimError::Limit(format!(
            "a spike trace of samples x steps x neurons = {work} bytes, the limit is 2^30; \
             ask for the trace of fewer samples or steps"
        )));
    }
    let want = samples * steps * n_in as u128;
    if req.inputs.len() as u128 != want {
        return bad(format!(
            "inputs must have shape [samples, steps, {n_in}] ({want} values), got {} values",
            req.inputs.len()
        ));
    }
    if let Some(v) = req.inputs.iter().find(|&&b| b > 1) {
        return bad(format!("input spikes must be 0 or 1, found {v}"));
    }
    if req.threads == Some(0) {
        return Err(SimError::Limit("threads must be at least 1".into()));
    }
    Ok(())
}

fn run_sample(
    req: &SimRequest,
    plan: &Plan,
    costs: &ScaledCosts,
    inputs: &[u8],
    timeline_budget: &AtomicUsize,
    route_table: &timing::RouteTable,
) -> Result<SampleResult> {
    cancel::check(req.cancel)?;
    let trace = functional::run(
        plan,
        inputs,
        req.steps,
        req.network.n_inputs(),
        req.keep_spike_trace,
        req.cancel,
    )?;
    let options = timing::RunOptions {
        keep_timeline: req.keep_timeline,
        schedule: req.schedule,
        timeline_budget,
        cancel: req.cancel,
        route_table,
        wide_keys: false,
    };
    let timing = timing::run(plan, &trace, req.arch, costs, &options)?;
    Ok(summarise(plan, costs, trace, timing))
}

fn summarise(plan: &Plan, c: &ScaledCosts, trace: Trace, timing: Timing) -> SampleResult {
    let k = &trace.counts;
    let flits = c.flits as f64;
    let hop_energy = |h: &[u64; 4]| {
        (0..4)
            .map(|d| c.e_hop[d] * flits * h[d] as f64)
            .sum::<f64>()
    };
    let latency_s = timing.latency_fs as f64 / FS_PER_S;
    let synapse = c.e_synapse * k.synaptic_ops as f64;
    let soma = c.e_soma_access * k.neuron_accesses as f64
        + c.e_soma_update * k.lif_updates as f64
        + c.e_soma_spike * k.lif_spikes as f64;
    let network =
        (c.e_message_out + c.e_message_in) * k.packets as f64 + hop_energy(&k.hops_by_dir);
    let sync = c.e_token_out * (timing.tokens + timing.credits) as f64
        + c.e_token_hop * flits * timing.token_hops as f64
        + c.e_barrier_hop * timing.barrier_hops as f64;
    let stat = c.static_power_w * latency_s;
    let breakdown = [synapse, soma, network, sync, stat];
    let core_dynamic_energy_j = core_energy(plan, c, &trace, &timing);
    let core_utilisation = timing
        .core_busy_fs
        .iter()
        .map(|b| {
            if timing.quiescent_fs == 0 {
                0.0
            } else {
                b.iter().sum::<u64>() as f64 / (4.0 * timing.quiescent_fs as f64)
            }
        })
        .collect();
    SampleResult {
        counts: trace.counts.clone(),
        tokens: timing.tokens,
        credits: timing.credits,
        token_hops: timing.token_hops,
        stalls: timing.stalls,
        barriers: timing.barriers,
        spikes_per_layer: trace.spikes_per_layer.clone(),
        output_counts: trace.output_counts.clone(),
        energy_breakdown_j: breakdown,
        energy_j: synapse + soma + network + sync + stat,
        latency_s,
        quiescent_s: timing.quiescent_fs as f64 / FS_PER_S,
        critical_path_s: timing.critical_path_fs as f64 / FS_PER_S,
        serial_time_s: timing.serial_fs as f64 / FS_PER_S,
        core_utilisation,
        core_dynamic_energy_j,
        spike_trace: trace.spike_trace,
        timeline: timing.timeline,
    }
}

/// Dynamic energy charged to each core: synapses and packets received, soma work, packets and
/// tokens sent with their hops, a share of the barriers.
fn core_energy(plan: &Plan, c: &ScaledCosts, trace: &Trace, timing: &Timing) -> Vec<f64> {
    let flits = c.flits as f64;
    let mut e: Vec<f64> = (0..plan.n_cores)
        .map(|core| {
            c.e_synapse * trace.core_syn[core] as f64
                + c.e_message_in * trace.core_packets_in[core] as f64
                + c.e_message_out * trace.core_packets_out[core] as f64
                + (0..4)
                    .map(|d| c.e_hop[d] * flits * trace.core_hops[core][d] as f64)
                    .sum::<f64>()
                + c.e_token_out * timing.core_tokens_out[core] as f64
                + c.e_token_hop * flits * timing.core_token_hops[core] as f64
                // the barrier network is the chip's: an equal share per core
                + c.e_barrier_hop * timing.barrier_hops as f64 / plan.n_cores as f64
        })
        .collect();
    for step in 0..trace.steps {
        for (q, part) in plan.parts.iter().enumerate() {
            let [acc, upd, spk] = trace.soma_work[step * trace.n_parts + q];
            e[part.core as usize] += c.e_soma_access * acc as f64
                + c.e_soma_update * upd as f64
                + c.e_soma_spike * spk as f64;
        }
    }
    e
}
