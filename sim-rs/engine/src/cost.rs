//! Per-event costs, voltage scaling, static power and area (docs/cost-model.md).
//!
//! Presets are data: `sim-rs/engine/presets/*.json`, embedded at build time and also loadable
//! from any file of the same shape.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Result, SimError};
use crate::model::Architecture;

/// Events that carry an energy and a latency.
pub const EVENT_KINDS: [&str; 11] = [
    "soma_access",
    "soma_update",
    "soma_spike",
    "synapse_event",
    "message_out",
    "message_in",
    "east_hop",
    "west_hop",
    "north_hop",
    "south_hop",
    "token_out",
];
/// Events a cost model may leave out (they then cost nothing): SANA-FE has no tokens.
const OPTIONAL_KINDS: [&str; 2] = ["token_out", "token_hop"];

pub const AREA_KEYS: [&str; 6] = [
    "sram_um2_per_bit",
    "neuron_state_bits",
    "core_logic_um2",
    "lane_logic_um2",
    "router_logic_um2_per_link_bit",
    "buffer_um2_per_bit",
];

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CostModel {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub energy_j: BTreeMap<String, f64>,
    pub latency_s: BTreeMap<String, f64>,
    #[serde(default = "one")]
    pub nominal_voltage_v: f64,
    #[serde(default = "default_vt")]
    pub threshold_voltage_v: f64,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default)]
    pub leakage_w_per_mm2: f64,
    #[serde(default)]
    pub area: BTreeMap<String, f64>,
}

fn one() -> f64 {
    1.0
}
fn default_vt() -> f64 {
    0.3
}
fn default_alpha() -> f64 {
    1.3
}

const PRESETS: [(&str, &str); 2] = [
    ("loihi", include_str!("../presets/loihi.json")),
    ("async28", include_str!("../presets/async28.json")),
];

pub fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// The JSON text of a built-in preset.
pub fn preset_text(name: &str) -> Result<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            SimError::Cost(format!(
                "unknown preset '{name}'; known presets: {}",
                preset_names().join(", ")
            ))
        })
}

impl CostModel {
    pub fn preset(name: &str) -> Result<Self> {
        Self::from_json(preset_text(name)?)
    }

    pub fn from_json(text: &str) -> Result<Self> {
        let model: Self = serde_json::from_str(text)
            .map_err(|e| SimError::Cost(format!("cannot parse preset: {e}")))?;
        model.validate()?;
        Ok(model)
    }

    pub fn energy(&self, kind: &str) -> f64 {
        self.energy_j.get(kind).copied().unwrap_or(0.0)
    }

    pub fn latency(&self, kind: &str) -> f64 {
        self.latency_s.get(kind).copied().unwrap_or(0.0)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(SimError::Cost(format!("{}: {m}", self.name)));
        for (table, values) in [("energy_j", &self.energy_j), ("latency_s", &self.latency_s)] {
            for kind in EVENT_KINDS {
                if !values.contains_key(kind) && !OPTIONAL_KINDS.contains(&kind) {
                    return bad(format!("{table} has no '{kind}'"));
                }
            }
            for (kind, v) in values.iter() {
                if !EVENT_KINDS.contains(&kind.as_str()) && !OPTIONAL_KINDS.contains(&kind.as_str())
                {
                    return bad(format!("{table} has an unknown event '{kind}'"));
                }
                if !v.is_finite() || *v < 0.0 {
                    return bad(format!("{table}.{kind} must be finite and >= 0, got {v}"));
                }
            }
        }
        for (key, v) in self.area.iter() {
            if !AREA_KEYS.contains(&key.as_str()) {
                return bad(format!("area has an unknown constant '{key}'"));
            }
            if !v.is_finite() || *v < 0.0 {
                return bad(format!("area.{key} must be finite and >= 0, got {v}"));
            }
        }
        let vt = self.threshold_voltage_v;
        if !(self.nominal_voltage_v.is_finite()
            && vt.is_finite()
            && vt >= 0.0
            && self.nominal_voltage_v > vt)
        {
            return bad("needs 0 <= threshold_voltage_v < nominal_voltage_v".into());
        }
        if !self.alpha.is_finite() || self.alpha < 1.0 || self.alpha > 2.0 {
            return bad(format!("alpha must be in 1..=2, got {}", self.alpha));
        }
        if !self.leakage_w_per_mm2.is_finite() || self.leakage_w_per_mm2 < 0.0 {
            return bad("leakage_w_per_mm2 must be finite and >= 0".into());
        }
        Ok(())
    }

    /// Costs at the architecture's supply voltage, with latencies in integer femtoseconds.
    pub fn scaled(&self, arch: &Architecture) -> Result<ScaledCosts> {
        let v = arch.voltage_v.unwrap_or(self.nominal_voltage_v);
        let vt = self.threshold_voltage_v;
        if v <= vt + 0.05 {
            return Err(SimError::Architecture(format!(
                "voltage_v {v} V is too close to the threshold voltage {vt} V of cost model '{}' (needs > {:.2} V)",
                self.name,
                vt + 0.05
            )));
        }
        let energy_scale = (v / self.nominal_voltage_v).powi(2);
        // Alpha-power law: delay ~ V / (V - Vt)^alpha, relative to the nominal voltage.
        let delay = |x: f64| x / (x - vt).powf(self.alpha);
        let delay_scale = delay(v) / delay(self.nominal_voltage_v);
        let fs = |kind: &str| (self.latency(kind) * delay_scale * 1e15).round() as u64;
        let e = |kind: &str| self.energy(kind) * energy_scale;
        let area_mm2 = self.area_mm2(arch);
        Ok(ScaledCosts {
            voltage_v: v,
            energy_scale,
            delay_scale,
            e_soma_access: e("soma_access"),
            e_soma_update: e("soma_update"),
            e_soma_spike: e("soma_spike"),
            e_synapse: e("synapse_event"),
            e_message_out: e("message_out"),
            e_message_in: e("message_in"),
            e_hop: [e("east_hop"), e("west_hop"), e("north_hop"), e("south_hop")],
            e_token_out: e("token_out"),
            e_token_hop: e("token_hop"),
            t_soma_access: fs("soma_access"),
            t_soma_update: fs("soma_update"),
            t_soma_spike: fs("soma_spike"),
            t_synapse: fs("synapse_event"),
            t_message_out: fs("message_out"),
            t_message_in: fs("message_in"),
            t_token_out: fs("token_out"),
            t_hop: [
                fs("east_hop"),
                fs("west_hop"),
                fs("north_hop"),
                fs("south_hop"),
            ],
            area_mm2,
            static_power_w: self.leakage_w_per_mm2 * area_mm2 * (v / self.nominal_voltage_v),
        })
    }

    /// Chip area: per-core SRAM and logic plus per-router logic and buffers (docs/cost-model.md).
    pub fn area_mm2(&self, arch: &Architecture) -> f64 {
        let a = |k: &str| self.area.get(k).copied().unwrap_or(0.0);
        let sram_bits = arch.neurons_per_core as f64 * a("neuron_state_bits")
            + arch.synapse_memory_kib as f64 * 8192.0;
        let core_um2 = sram_bits * a("sram_um2_per_bit")
            + a("core_logic_um2")
            + arch.synapse_lanes as f64 * a("lane_logic_um2");
        let ports = 4.0 + arch.cores_per_tile as f64;
        let link = arch.link_width_bits as f64;
        // Each port has a link-wide datapath and a FIFO of fifo_depth packets.
        let buffer_bits =
            ports * arch.fifo_depth as f64 * (crate::model::PACKET_BITS as f64).max(link);
        let router_um2 = ports * link * a("router_logic_um2_per_link_bit")
            + buffer_bits * a("buffer_um2_per_bit");
        (arch.n_cores() as f64 * core_um2 + arch.n_tiles() as f64 * router_um2) * 1e-6
    }
}

/// Costs ready for the engine: energies in J at the supply voltage, latencies in fs.
#[derive(Debug, Clone)]
pub struct ScaledCosts {
    pub voltage_v: f64,
    pub energy_scale: f64,
    pub delay_scale: f64,
    pub e_soma_access: f64,
    pub e_soma_update: f64,
    pub e_soma_spike: f64,
    pub e_synapse: f64,
    pub e_message_out: f64,
    pub e_message_in: f64,
    /// east, west, north, south; per flit and hop.
    pub e_hop: [f64; 4],
    pub e_token_out: f64,
    pub e_token_hop: f64,
    pub t_soma_access: u64,
    pub t_soma_update: u64,
    pub t_soma_spike: u64,
    pub t_synapse: u64,
    pub t_message_out: u64,
    pub t_message_in: u64,
    pub t_token_out: u64,
    pub t_hop: [u64; 4],
    pub area_mm2: f64,
    pub static_power_w: f64,
}

/// Femtoseconds per second: the engine's time unit.
pub const FS_PER_S: f64 = 1e15;
