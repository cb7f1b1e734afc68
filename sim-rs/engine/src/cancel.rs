//! Cancelling a simulation from another thread.
//!
//! A `CancelFlag` is shared between the caller and the running simulation. The functional pass
//! checks it once per step, the timing pass every `CHECK_EVERY` events, and a sample that sees
//! it set returns `SimError::Cancelled`; rayon then starts no further sample and every running
//! one stops at its next check. A relaxed load is enough: nothing else is published through it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Result, SimError};

/// Events of the timing pass between two looks at the flag (a power of two: a mask test).
pub(crate) const CHECK_EVERY: u64 = 4096;

#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask every simulation holding this flag (or a clone of it) to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// `Err(Cancelled)` once `flag` (if any) is set.
pub(crate) fn check(flag: Option<&CancelFlag>) -> Result<()> {
    match flag {
        Some(f) if f.is_cancelled() => Err(SimError::Cancelled),
        _ => Ok(()),
    }
}
