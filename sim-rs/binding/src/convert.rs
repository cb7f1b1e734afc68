//! The one place where Python objects become engine types, and engine errors Python exceptions.

use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use trueasync_engine::{
    Architecture, Connectivity, Layer, LayerKind, LifParams, MappingPolicy, Network, Projection,
    ResetMode, SimError,
};

pyo3::create_exception!(
    _core,
    SimulationError,
    PyValueError,
    "Bad input to the simulator; the message names the field and the limit."
);

pyo3::create_exception!(
    _core,
    SimulationCancelled,
    PyException,
    "The simulation was cancelled through its CancelToken (not a fault of the input)."
);

/// Bad input becomes SimulationError (a ValueError), a cancelled run SimulationCancelled, an
/// engine bug a RuntimeError.
pub fn to_py_err(e: SimError) -> PyErr {
    match e {
        SimError::Internal(_) => PyRuntimeError::new_err(e.to_string()),
        SimError::Cancelled => SimulationCancelled::new_err(e.to_string()),
        _ => SimulationError::new_err(e.to_string()),
    }
}

pub fn panic_to_py_err(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    PyRuntimeError::new_err(format!(
        "internal error in the TrueAsync engine: {msg} (please report it)"
    ))
}

/// `d[key]` converted to `T`, or a SimulationError naming `what.key`.
fn field<'py, T: FromPyObject<'py>>(d: &Bound<'py, PyDict>, key: &str, what: &str) -> PyResult<T> {
    let value = d
        .get_item(key)?
        .ok_or_else(|| SimulationError::new_err(format!("{what}: missing field '{key}'")))?;
    value.extract::<T>().map_err(|e| {
        SimulationError::new_err(format!("{what}: field '{key}' has the wrong type ({e})"))
    })
}

fn opt_field<'py, T: FromPyObject<'py>>(
    d: &Bound<'py, PyDict>,
    key: &str,
    what: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(field(d, key, what)?)),
        _ => Ok(None),
    }
}

fn array<'py, T: numpy::Element + Copy>(
    d: &Bound<'py, PyDict>,
    key: &str,
    what: &str,
) -> PyResult<Vec<T>> {
    let a: PyReadonlyArray1<'py, T> = field(d, key, what)?;
    let slice = a.as_slice().map_err(|_| {
        SimulationError::new_err(format!(
            "{what}: '{key}' must be a contiguous array ({} values)",
            a.len()
        ))
    })?;
    Ok(slice.to_vec())
}

pub fn network(d: &Bound<'_, PyDict>) -> PyResult<Network> {
    let layers_py: Bound<'_, PyList> = field(d, "layers", "network")?;
    let mut layers = Vec::with_capacity(layers_py.len());
    for item in layers_py.iter() {
        layers.push(layer(item.downcast::<PyDict>()?)?);
    }
    let projections_py: Bound<'_, PyList> = field(d, "projections", "network")?;
    let mut projections = Vec::with_capacity(projections_py.len());
    for item in projections_py.iter() {
        projections.push(projection(item.downcast::<PyDict>()?)?);
    }
    Ok(Network {
        layers,
        projections,
        weight_scale: field(d, "weight_scale", "network")?,
    })
}

fn layer(d: &Bound<'_, PyDict>) -> PyResult<Layer> {
    let name: String = field(d, "name", "layer")?;
    let what = format!("layer '{name}'");
    let kind: String = field(d, "kind", &what)?;
    let kind = match kind.as_str() {
        "input" => LayerKind::Input,
        "lif" => LayerKind::Lif(LifParams {
            threshold: field(d, "threshold", &what)?,
            leak_num: field(d, "leak_num", &what)?,
            leak_shift: field(d, "leak_shift", &what)?,
            bias: field(d, "bias", &what)?,
            reset_mode: match field::<String>(d, "reset_mode", &what)?.as_str() {
                "hard" => ResetMode::Hard,
                "subtract" => ResetMode::Subtract,
                other => {
                    return Err(SimulationError::new_err(format!(
                        "{what}: reset_mode must be 'hard' or 'subtract', got '{other}'"
                    )))
                }
            },
            reset_value: field(d, "reset_value", &what)?,
        }),
        other => {
            return Err(SimulationError::new_err(format!(
                "{what}: kind must be 'input' or 'lif', got '{other}'"
            )))
        }
    };
    let size: i64 = field(d, "size", &what)?;
    if size <= 0 {
        return Err(SimulationError::new_err(format!(
            "{what}: size must be at least 1, got {size}"
        )));
    }
    let shape: Option<(i64, i64, i64)> = opt_field(d, "shape", &what)?;
    let shape = match shape {
        Some((h, w, c)) if h > 0 && w > 0 && c > 0 => Some([h as usize, w as usize, c as usize]),
        Some((h, w, c)) => {
            return Err(SimulationError::new_err(format!(
                "{what}: shape ({h}, {w}, {c}) must be positive"
            )))
        }
        None => None,
    };
    Ok(Layer {
        name,
        size: size as usize,
        shape,
        kind,
    })
}

fn projection(d: &Bound<'_, PyDict>) -> PyResult<Projection> {
    let pre: usize = field(d, "pre", "projection")?;
    let post: usize = field(d, "post", "projection")?;
    let what: String = field(d, "label", "projection")?;
    let kind: String = field(d, "kind", &what)?;
    let weights: Vec<i32> = array(d, "weights", &what)?;
    let conn = match kind.as_str() {
        "dense" => Connectivity::Dense { weights },
        "sparse" => Connectivity::Sparse {
            pre: array(d, "pre_index", &what)?,
            post: array(d, "post_index", &what)?,
            weights,
        },
        "conv2d" => {
            let dims = |k: &str| -> PyResult<usize> {
                let v: i64 = field(d, k, &what)?;
                if v < 0 {
                    return Err(SimulationError::new_err(format!(
                        "{what}: {k} must be >= 0, got {v}"
                    )));
                }
                Ok(v as usize)
            };
            Connectivity::Conv2d {
                weights,
                out_channels: dims("out_channels")?,
                in_channels: dims("in_channels")?,
                kernel_h: dims("kernel_h")?,
                kernel_w: dims("kernel_w")?,
                stride: dims("stride")?,
                padding: dims("padding")?,
            }
        }
        other => {
            return Err(SimulationError::new_err(format!(
                "{what}: kind must be 'dense', 'conv2d' or 'sparse', got '{other}'"
            )))
        }
    };
    Ok(Projection { pre, post, conn })
}

pub fn architecture(d: &Bound<'_, PyDict>) -> PyResult<Architecture> {
    let what = "architecture";
    let u = |k: &str| -> PyResult<u32> {
        let v: i64 = field(d, k, what)?;
        u32::try_from(v).map_err(|_| {
            SimulationError::new_err(format!(
                "invalid architecture: {k} must be a positive integer, got {v}"
            ))
        })
    };
    let mapping: String = field(d, "mapping", what)?;
    Ok(Architecture {
        mesh_width: u("mesh_width")?,
        mesh_height: u("mesh_height")?,
        cores_per_tile: u("cores_per_tile")?,
        neurons_per_core: u("neurons_per_core")?,
        synapse_memory_kib: u("synapse_memory_kib")?,
        weight_bits: u("weight_bits")?,
        synapse_lanes: u("synapse_lanes")?,
        fifo_depth: u("fifo_depth")?,
        link_width_bits: u("link_width_bits")?,
        voltage_v: opt_field(d, "voltage_v", what)?,
        mapping: mapping.parse::<MappingPolicy>().map_err(to_py_err)?,
    })
}
