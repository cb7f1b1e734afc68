//! Thin PyO3 binding of the TrueAsync engine: convert (convert.rs), release the GIL, call, and
//! return plain dicts of numpy arrays. The Python package `trueasync` wraps these.

mod convert;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use trueasync_engine::{
    CancelFlag, CostModel, Network, Schedule, Semantics, SimOutput, SimRequest, ENERGY_UNITS,
};

use convert::{panic_to_py_err, to_py_err, SimulationCancelled, SimulationError};

/// A flag another thread can set to stop a running simulation (it then raises
/// SimulationCancelled). One token may serve several simulations; it cannot be reset.
#[pyclass(frozen, module = "trueasync._core")]
#[derive(Default)]
struct CancelToken {
    flag: CancelFlag,
}

#[pymethods]
impl CancelToken {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Ask every simulation given this token to stop (safe from any thread, at any time).
    fn cancel(&self) {
        self.flag.cancel();
    }

    #[getter]
    fn cancelled(&self) -> bool {
        self.flag.is_cancelled()
    }

    fn __repr__(&self) -> String {
        format!(
            "CancelToken(cancelled={})",
            if self.cancelled() { "True" } else { "False" }
        )
    }
}

/// A network converted to the engine's types once, for callers that simulate the same network
/// many times (the simulator service's cached networks): `simulate` takes it in place of the
/// network dict and skips that conversion, with identical results.
#[pyclass(frozen, module = "trueasync._core")]
struct PreparedNetwork {
    network: Arc<Network>,
}

#[pymethods]
impl PreparedNetwork {
    #[new]
    fn new(network: &Bound<'_, PyDict>) -> PyResult<Self> {
        Ok(Self {
            network: Arc::new(convert::network(network)?),
        })
    }

    #[getter]
    fn n_inputs(&self) -> usize {
        self.network.n_inputs()
    }
}

/// The engine network of `network`: a PreparedNetwork's, or converted from a network dict.
fn engine_network(network: &Bound<'_, PyAny>) -> PyResult<Arc<Network>> {
    if let Ok(prepared) = network.downcast::<PreparedNetwork>() {
        return Ok(Arc::clone(&prepared.get().network));
    }
    let d = network.downcast::<PyDict>().map_err(|_| {
        SimulationError::new_err("network must be a network dict or a PreparedNetwork")
    })?;
    Ok(Arc::new(convert::network(d)?))
}

/// Run the engine with the GIL released; a panic becomes a RuntimeError, never an abort.
fn without_gil<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> trueasync_engine::Result<T> + Send,
) -> PyResult<T> {
    py.allow_threads(|| catch_unwind(AssertUnwindSafe(f)))
        .map_err(panic_to_py_err)?
        .map_err(to_py_err)
}

#[pyfunction]
#[pyo3(signature = (network, arch, costs_json, inputs, semantics, core_of=None, threads=None, trace=false, timeline=false, cancel=None, schedule="asynchronous"))]
#[allow(clippy::too_many_arguments)] // mirrors trueasync.simulate's keyword arguments
fn simulate<'py>(
    py: Python<'py>,
    network: &Bound<'py, PyAny>,
    arch: &Bound<'py, PyDict>,
    costs_json: &str,
    inputs: PyReadonlyArray3<'py, u8>,
    semantics: &str,
    core_of: Option<PyReadonlyArray1<'py, i64>>,
    threads: Option<usize>,
    trace: bool,
    timeline: bool,
    cancel: Option<PyRef<'py, CancelToken>>,
    schedule: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let cancel = cancel.map(|t| t.flag.clone());
    let schedule: Schedule = schedule.parse().map_err(to_py_err)?;
    let network = engine_network(network)?;
    let arch = convert::architecture(arch)?;
    let costs = CostModel::from_json(costs_json).map_err(to_py_err)?;
    let semantics: Semantics = semantics.parse().map_err(to_py_err)?;
    let shape = inputs.shape().to_vec();
    let input_bytes = inputs
        .as_slice()
        .map_err(|_| SimulationError::new_err("inputs must be a C-contiguous uint8 array"))?
        .to_vec();
    let core_of = match core_of {
        None => None,
        Some(a) => {
            let v = a
                .as_slice()
                .map_err(|_| SimulationError::new_err("core_of must be contiguous"))?;
            if let Some((n, c)) = v
                .iter()
                .enumerate()
                .find(|(_, &c)| c < 0 || c > u32::MAX as i64)
            {
                return Err(SimulationError::new_err(format!(
                    "core_of[{n}] = {c} is not a core index"
                )));
            }
            Some(v.iter().map(|&c| c as u32).collect())
        }
    };
    if shape[2] != network.n_inputs() {
        return Err(SimulationError::new_err(format!(
            "invalid inputs: the last axis has {} input neurons but the network has {}",
            shape[2],
            network.n_inputs()
        )));
    }
    let start = Instant::now();
    let out = without_gil(py, || {
        trueasync_engine::simulate(&SimRequest {
            network: &network,
            arch: &arch,
            costs: &costs,
            inputs: &input_bytes,
            samples: shape[0],
            steps: shape[1],
            semantics,
            schedule,
            core_of,
            threads,
            keep_spike_trace: trace,
            keep_timeline: timeline,
            cancel: cancel.as_ref(),
        })
    })?;
    let wall_s = start.elapsed().as_secs_f64();
    result_dict(py, &network, shape[1], out, wall_s)
}

fn result_dict<'py>(
    py: Python<'py>,
    network: &trueasync_engine::Network,
    steps: usize,
    out: SimOutput,
    wall_s: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let s = &out.samples;
    let n = s.len();
    let d = PyDict::new(py);
    let col = |f: &dyn Fn(&trueasync_engine::SampleResult) -> f64| {
        PyArray1::from_vec(py, s.iter().map(f).collect())
    };
    d.set_item("energy_j", col(&|r| r.energy_j))?;
    d.set_item("latency_s", col(&|r| r.latency_s))?;
    d.set_item("quiescent_s", col(&|r| r.quiescent_s))?;
    d.set_item("critical_path_s", col(&|r| r.critical_path_s))?;
    d.set_item("serial_time_s", col(&|r| r.serial_time_s))?;
    let breakdown = PyDict::new(py);
    for (i, unit) in ENERGY_UNITS.iter().enumerate() {
        breakdown.set_item(unit, col(&|r| r.energy_breakdown_j[i]))?;
    }
    d.set_item("energy_breakdown_j", breakdown)?;
    let counts = PyDict::new(py);
    let count = |f: &dyn Fn(&trueasync_engine::SampleResult) -> u64| {
        PyArray1::from_vec(py, s.iter().map(f).collect())
    };
    counts.set_item("fired", count(&|r| r.counts.fired))?;
    counts.set_item("synaptic_ops", count(&|r| r.counts.synaptic_ops))?;
    counts.set_item("packets", count(&|r| r.counts.packets))?;
    counts.set_item("hops", count(&|r| r.counts.hops))?;
    counts.set_item("tokens", count(&|r| r.tokens))?;
    counts.set_item("credits", count(&|r| r.credits))?;
    counts.set_item("token_hops", count(&|r| r.token_hops))?;
    counts.set_item("stalls", count(&|r| r.stalls))?;
    counts.set_item("barriers", count(&|r| r.barriers))?;
    counts.set_item("neuron_updates", count(&|r| r.counts.neuron_updates))?;
    counts.set_item("neuron_accesses", count(&|r| r.counts.neuron_accesses))?;
    d.set_item("counts", counts)?;
    let matrix_u = |rows: Vec<Vec<u64>>, cols: usize| -> PyResult<Bound<'py, PyAny>> {
        let flat: Vec<u64> = rows.into_iter().flatten().collect();
        Ok(PyArray1::from_vec(py, flat).reshape([n, cols])?.into_any())
    };
    let matrix_f = |rows: Vec<Vec<f64>>, cols: usize| -> PyResult<Bound<'py, PyAny>> {
        let flat: Vec<f64> = rows.into_iter().flatten().collect();
        Ok(PyArray1::from_vec(py, flat).reshape([n, cols])?.into_any())
    };
    let n_layers = network.layers.len();
    let n_out = network.layers[n_layers - 1].size;
    let n_cores = s.first().map_or(0, |r| r.core_utilisation.len());
    d.set_item(
        "spikes_per_layer",
        matrix_u(
            s.iter().map(|r| r.spikes_per_layer.clone()).collect(),
            n_layers,
        )?,
    )?;
    d.set_item(
        "output_spike_counts",
        matrix_u(
            s.iter()
                .map(|r| r.output_counts.iter().map(|&c| c as u64).collect())
                .collect(),
            n_out,
        )?,
    )?;
    d.set_item(
        "core_utilisation",
        matrix_f(
            s.iter().map(|r| r.core_utilisation.clone()).collect(),
            n_cores,
        )?,
    )?;
    d.set_item(
        "core_dynamic_energy_j",
        matrix_f(
            s.iter().map(|r| r.core_dynamic_energy_j.clone()).collect(),
            n_cores,
        )?,
    )?;
    d.set_item(
        "core_of",
        PyArray1::from_vec(py, out.core_of.iter().map(|&c| c as i64).collect()),
    )?;
    d.set_item("area_mm2", out.area_mm2)?;
    d.set_item("static_power_w", out.static_power_w)?;
    d.set_item("wall_s", wall_s)?;
    if s.first().is_some_and(|r| r.spike_trace.is_some()) {
        let layers = PyList::empty(py);
        for (l, layer) in network.layers.iter().enumerate() {
            let flat: Vec<bool> = s
                .iter()
                .flat_map(|r| r.spike_trace.as_ref().expect("trace")[l].iter().copied())
                .collect();
            layers.append(PyArray1::from_vec(py, flat).reshape([n, steps, layer.size])?)?;
        }
        d.set_item("spike_trace", layers)?;
    }
    if s.first().is_some_and(|r| r.timeline.is_some()) {
        d.set_item("timeline", timeline_columns(py, s)?)?;
    }
    Ok(d)
}

fn timeline_columns<'py>(
    py: Python<'py>,
    s: &[trueasync_engine::SampleResult],
) -> PyResult<Bound<'py, PyDict>> {
    let records = || {
        s.iter()
            .enumerate()
            .flat_map(|(i, r)| r.timeline.iter().flatten().map(move |t| (i, t)))
    };
    let d = PyDict::new(py);
    d.set_item(
        "sample",
        PyArray1::from_vec(py, records().map(|(i, _)| i as i64).collect()),
    )?;
    d.set_item(
        "start_s",
        PyArray1::from_vec(
            py,
            records().map(|(_, t)| t.start_fs as f64 * 1e-15).collect(),
        ),
    )?;
    d.set_item(
        "end_s",
        PyArray1::from_vec(
            py,
            records().map(|(_, t)| t.end_fs as f64 * 1e-15).collect(),
        ),
    )?;
    d.set_item(
        "unit",
        PyArray1::from_vec(py, records().map(|(_, t)| t.unit as u8).collect()),
    )?;
    d.set_item(
        "index",
        PyArray1::from_vec(py, records().map(|(_, t)| t.index as i64).collect()),
    )?;
    d.set_item(
        "port",
        PyArray1::from_vec(py, records().map(|(_, t)| t.port).collect()),
    )?;
    d.set_item(
        "step",
        PyArray1::from_vec(py, records().map(|(_, t)| t.step as i64).collect()),
    )?;
    Ok(d)
}

/// The core of every neuron under the architecture's mapping policy.
#[pyfunction]
fn map_network<'py>(
    py: Python<'py>,
    network: &Bound<'py, PyDict>,
    arch: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let network = convert::network(network)?;
    let arch = convert::architecture(arch)?;
    let core_of = without_gil(py, || {
        network.validate()?;
        arch.validate()?;
        trueasync_engine::map_network(&network, &arch)
    })?;
    Ok(PyArray1::from_vec(
        py,
        core_of.into_iter().map(i64::from).collect(),
    ))
}

/// The JSON text of a built-in cost preset.
#[pyfunction]
fn preset_json(name: &str) -> PyResult<String> {
    trueasync_engine::cost::preset_text(name)
        .map(str::to_string)
        .map_err(to_py_err)
}

/// Parse and check a cost model; returns nothing or raises SimulationError.
#[pyfunction]
fn check_costs(costs_json: &str) -> PyResult<()> {
    CostModel::from_json(costs_json)
        .map(|_| ())
        .map_err(to_py_err)
}

#[pyfunction]
fn preset_names() -> Vec<&'static str> {
    trueasync_engine::preset_names()
}

/// Area (mm^2) and static power (W) of an architecture under a cost model.
#[pyfunction]
fn area_and_static_power(arch: &Bound<'_, PyDict>, costs_json: &str) -> PyResult<(f64, f64)> {
    let arch = convert::architecture(arch)?;
    arch.validate().map_err(to_py_err)?;
    let costs = CostModel::from_json(costs_json).map_err(to_py_err)?;
    let scaled = costs.scaled(&arch).map_err(to_py_err)?;
    Ok((scaled.area_mm2, scaled.static_power_w))
}

/// What one event costs on `arch` as the engine charges it: energies (J) at the supply voltage
/// (a synaptic event at the design's weight width and memory size; a hop per packet, i.e. all
/// its flits, at the design's link width), latencies (s) and the packet format.
#[pyfunction]
fn event_costs<'py>(
    py: Python<'py>,
    arch: &Bound<'py, PyDict>,
    costs_json: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let arch = convert::architecture(arch)?;
    arch.validate().map_err(to_py_err)?;
    let c = CostModel::from_json(costs_json)
        .and_then(|m| m.scaled(&arch))
        .map_err(to_py_err)?;
    let flits = c.flits as f64;
    let fs = |t: u64| t as f64 / trueasync_engine::cost::FS_PER_S;
    let energy = PyDict::new(py);
    let latency = PyDict::new(py);
    for (kind, e, t) in [
        ("soma_access", c.e_soma_access, c.t_soma_access),
        ("soma_update", c.e_soma_update, c.t_soma_update),
        ("soma_spike", c.e_soma_spike, c.t_soma_spike),
        ("synapse_event", c.e_synapse, c.t_synapse),
        ("message_out", c.e_message_out, c.t_message_out),
        ("message_in", c.e_message_in, c.t_message_in),
        ("token_out", c.e_token_out, c.t_token_out),
    ] {
        energy.set_item(kind, e)?;
        latency.set_item(kind, fs(t))?;
    }
    for (d, name) in ["east_hop", "west_hop", "north_hop", "south_hop"]
        .iter()
        .enumerate()
    {
        energy.set_item(name, c.e_hop[d] * flits)?;
        latency.set_item(name, fs(c.t_hop[d] * c.flits as u64))?;
    }
    energy.set_item("token_hop", c.e_token_hop * flits)?;
    let d = PyDict::new(py);
    d.set_item("energy_j", energy)?;
    d.set_item("latency_s", latency)?;
    d.set_item("packet_bits", c.packet_bits)?;
    d.set_item("flits_per_packet", c.flits)?;
    d.set_item("voltage_v", c.voltage_v)?;
    Ok(d)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SimulationError", m.py().get_type::<SimulationError>())?;
    m.add(
        "SimulationCancelled",
        m.py().get_type::<SimulationCancelled>(),
    )?;
    m.add_class::<CancelToken>()?;
    m.add_class::<PreparedNetwork>()?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(map_network, m)?)?;
    m.add_function(wrap_pyfunction!(preset_json, m)?)?;
    m.add_function(wrap_pyfunction!(preset_names, m)?)?;
    m.add_function(wrap_pyfunction!(check_costs, m)?)?;
    m.add_function(wrap_pyfunction!(area_and_static_power, m)?)?;
    m.add_function(wrap_pyfunction!(event_costs, m)?)?;
    Ok(())
}
