//! TrueAsync: a fast, fully asynchronous, event-driven simulator of many-core neuromorphic chips.
//!
//! Pure Rust; knows nothing of Python, gRPC or training. See docs/simulator.md for the hardware
//! template and time semantics, docs/fixed-point.md for the neuron arithmetic and
//! docs/cost-model.md for the costs.

pub mod cancel;
pub mod cost;
pub mod error;
pub mod functional;
pub mod mapping;
pub mod model;
pub mod plan;
mod queue;
pub mod sim;
pub mod timing;

pub use cancel::CancelFlag;
pub use cost::{preset_names, CostModel};
pub use error::{Result, SimError};
pub use mapping::map_network;
pub use model::{
    Architecture, Connectivity, Layer, LayerKind, LifParams, MappingPolicy, Network, Projection,
    ResetMode,
};
pub use plan::Semantics;
pub use sim::{simulate, SampleResult, SimOutput, SimRequest, ENERGY_UNITS};
pub use timing::Schedule;
