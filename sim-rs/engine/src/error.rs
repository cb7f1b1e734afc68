//! Every way a simulation request can be refused, with a message a user can act on.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum SimError {
    /// The network description is inconsistent (names the layer / projection and the field).
    #[error("invalid network: {0}")]
    Network(String),
    /// The architecture is outside the template (names the parameter and its allowed range).
    #[error("invalid architecture: {0}")]
    Architecture(String),
    /// The network does not fit the architecture (names the layer / core and the limit).
    #[error("does not fit: {0}")]
    Capacity(String),
    /// The input spike array does not match the network.
    #[error("invalid inputs: {0}")]
    Inputs(String),
    /// A cost preset is missing or malformed.
    #[error("invalid cost model: {0}")]
    Cost(String),
    /// The request exceeds a documented size limit.
    #[error("request too large: {0}")]
    Limit(String),
    /// The caller cancelled the simulation (`CancelFlag::cancel`); not a fault of the input.
    #[error("the simulation was cancelled")]
    Cancelled,
    /// A bug in the engine (never the user's input); the message says where.
    #[error("internal error: {0}; please report this workload")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, SimError>;
