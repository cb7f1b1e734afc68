//! Per-event costs, voltage scaling, static power and area (docs/cost-model.md).
//!
//! Presets are data: `sim-rs/engine/presets/*.json`, embedded at build time and also loadable
//! from any file of the same shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};
use crate::model::{limits, Architecture};

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
/// Sanity bounds: a larger figure is almost surely in the wrong unit.
const MAX_EVENT_J: f64 = 1.0;
const MAX_VOLTAGE_V: f64 = 5.0;

/// Events a cost model may leave out (they then cost nothing): SANA-FE has no tokens, and the
/// clocked schedule's barrier signal is free unless a preset prices it.
const OPTIONAL_KINDS: [&str; 3] = ["token_out", "token_hop", "barrier_hop"];

pub const AREA_KEYS: [&str; 7] = [
    "sram_um2_per_bit",
    "neuron_state_bits",
    "core_logic_um2",
    "lane_logic_um2",
    "lane_logic_um2_per_weight_bit",
    "router_logic_um2_per_link_bit",
    "buffer_um2_per_bit",
];

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
    /// Synapse-SRAM read energy per weight bit at `reference_synapse_memory_kib` (J).
    #[serde(default)]
    pub synapse_read_j_per_bit: f64,
    /// Energy per weight bit in a lane's datapath: weight register, sign extension, adder
    /// input (J).
    #[serde(default)]
    pub lane_j_per_bit: f64,
    /// Read energy per bit grows as (memory / reference)^exponent (0.5: bit- and word-line
    /// length of a square array).
    #[serde(default = "half")]
    pub sram_read_size_exponent: f64,
    /// Share of a flit-hop's energy that grows with the link width (latches, buffer write,
    /// crossbar); the rest (handshake, routing) is per flit.
    #[serde(default)]
    pub link_width_energy_share: f64,
    /// The design the per-event figures are quoted at (the template's default).
    #[serde(default = "default_weight_bits")]
    pub reference_weight_bits: u32,
    #[serde(default = "default_memory_kib")]
    pub reference_synapse_memory_kib: u32,
    #[serde(default = "default_link_width")]
    pub reference_link_width_bits: u32,
}

fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn default_weight_bits() -> u32 {
    8
}
fn default_memory_kib() -> u32 {
    1024
}
fn default_link_width() -> u32 {
    32
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
                if table == "energy_j" && *v > MAX_EVENT_J {
                    return bad(format!(
                        "energy_j.{kind} is {v:e} J, above the limit of 1 J per event (energies \
                         are in joules: 1.5 pJ is 1.5e-12)"
                    ));
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
        if self.nominal_voltage_v > MAX_VOLTAGE_V {
            return bad(format!(
                "nominal_voltage_v must be at most {MAX_VOLTAGE_V} V, got {}",
                self.nominal_voltage_v
            ));
        }
        self.validate_scaling()
    }

    /// The design-dependent terms: finite, in range, and never below zero on any design.
    fn validate_scaling(&self) -> Result<()> {
        let bad = |m: String| Err(SimError::Cost(format!("{}: {m}", self.name)));
        for (key, v) in [
            ("synapse_read_j_per_bit", self.synapse_read_j_per_bit),
            ("lane_j_per_bit", self.lane_j_per_bit),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(format!("{key} must be finite and >= 0, got {v}"));
            }
        }
        for (key, v) in [
            ("sram_read_size_exponent", self.sram_read_size_exponent),
            ("link_width_energy_share", self.link_width_energy_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("{key} must be in 0..=1, got {v}"));
            }
        }
        for (key, v, hi) in [
            ("reference_weight_bits", self.reference_weight_bits, 16),
            (
                "reference_synapse_memory_kib",
                self.reference_synapse_memory_kib,
                1 << 22,
            ),
            (
                "reference_link_width_bits",
                self.reference_link_width_bits,
                1024,
            ),
        ] {
            if v < 1 || v > hi {
                return bad(format!("{key} must be in 1..={hi}, got {v}"));
            }
        }
        // The width-independent part of a synaptic event (accumulate, control) is what is left
        // of `synapse_event` once the reference width's bits are taken out; it cannot be < 0.
        let per_bit = self.synapse_read_j_per_bit + self.lane_j_per_bit;
        let width_part = self.reference_weight_bits as f64 * per_bit;
        if width_part > self.energy("synapse_event") {
            return bad(format!(
                "reference_weight_bits x (synapse_read_j_per_bit + lane_j_per_bit) = {width_part:e} J \
                 exceeds energy_j.synapse_event = {:e} J (the width-independent part would be negative)",
                self.energy("synapse_event")
            ));
        }
        let a = |k: &str| self.area.get(k).copied().unwrap_or(0.0);
        let lane_width_part =
            self.reference_weight_bits as f64 * a("lane_logic_um2_per_weight_bit");
        if lane_width_part > a("lane_logic_um2") {
            return bad(format!(
                "reference_weight_bits x area.lane_logic_um2_per_weight_bit = {lane_width_part} um^2 \
                 exceeds area.lane_logic_um2 = {} um^2",
                a("lane_logic_um2")
            ));
        }
        Ok(())
    }

    /// Energy (J, at the nominal voltage) of one synaptic event on `arch`: `synapse_event` at
    /// the reference design, plus the weight bits read and carried through the lane beyond
    /// (or short of) the reference width, the read energy per bit scaled by the memory size.
    /// Exactly `synapse_event` at the reference width and memory (how `loihi` stays SANA-FE's).
    pub fn synapse_energy(&self, arch: &Architecture) -> f64 {
        let per_bit_ref = self.synapse_read_j_per_bit + self.lane_j_per_bit;
        let size = arch.synapse_memory_kib as f64 / self.reference_synapse_memory_kib as f64;
        let per_bit = self.synapse_read_j_per_bit * size.powf(self.sram_read_size_exponent)
            + self.lane_j_per_bit;
        let delta =
            arch.weight_bits as f64 * per_bit - self.reference_weight_bits as f64 * per_bit_ref;
        self.energy("synapse_event") + delta
    }

    /// Factor on a flit-hop's energy for the link width: 1 at the reference width.
    pub fn link_width_factor(&self, arch: &Architecture) -> f64 {
        let w_ref = self.reference_link_width_bits as f64;
        1.0 + self.link_width_energy_share * (arch.link_width_bits as f64 - w_ref) / w_ref
    }

    /// Costs at the architecture's supply voltage, with latencies in integer femtoseconds.
    pub fn scaled(&self, arch: &Architecture) -> Result<ScaledCosts> {
        let v = arch.voltage_v.unwrap_or(self.nominal_voltage_v);
        let vt = self.threshold_voltage_v;
        if v > MAX_VOLTAGE_V {
            return Err(SimError::Architecture(format!(
                "voltage_v must be at most {MAX_VOLTAGE_V} V, got {v}"
            )));
        }
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
        // Femtoseconds, refused above MAX_EVENT_FS (1 s) rather than saturated or wrapped.
        let mut too_long = None;
        let mut fs = |kind: &str| {
            let t = (self.latency(kind) * delay_scale * 1e15).round();
            if t.is_finite() && t <= limits::MAX_EVENT_FS as f64 {
                t as u64
            } else {
                too_long.get_or_insert((kind.to_string(), t * 1e-15));
                0
            }
        };
        let e = |kind: &str| self.energy(kind) * energy_scale;
        // A flit-hop's energy at this link width (per flit; times flits per packet at use).
        let width = self.link_width_factor(arch);
        let hop = |kind: &str| e(kind) * width;
        let area_mm2 = self.area_mm2(arch);
        let times = [
            fs("soma_access"),
            fs("soma_update"),
            fs("soma_spike"),
            fs("synapse_event"),
            fs("message_out"),
            fs("message_in"),
            fs("token_out"),
            fs("east_hop"),
            fs("west_hop"),
            fs("north_hop"),
            fs("south_hop"),
            fs("barrier_hop"),
        ];
        if let Some((kind, seconds)) = too_long {
            return Err(SimError::Cost(format!(
                "{}: latency_s.{kind} is {seconds:e} s at {v} V, above the limit of 1 s per event \
                 (latencies are in seconds: 4 ns is 4e-9)",
                self.name
            )));
        }
        Ok(ScaledCosts {
            packet_bits: arch.packet_format().bits(),
            flits: arch.flits_per_packet(),
            voltage_v: v,
            energy_scale,
            delay_scale,
            e_soma_access: e("soma_access"),
            e_soma_update: e("soma_update"),
            e_soma_spike: e("soma_spike"),
            e_synapse: self.synapse_energy(arch) * energy_scale,
            e_message_out: e("message_out"),
            e_message_in: e("message_in"),
            e_hop: [
                hop("east_hop"),
                hop("west_hop"),
                hop("north_hop"),
                hop("south_hop"),
            ],
            e_token_out: e("token_out"),
            e_token_hop: hop("token_hop"),
            t_soma_access: times[0],
            t_soma_update: times[1],
            t_soma_spike: times[2],
            t_synapse: times[3],
            t_message_out: times[4],
            t_message_in: times[5],
            t_token_out: times[6],
            t_hop: [times[7], times[8], times[9], times[10]],
            t_barrier_hop: times[11],
            e_barrier_hop: e("barrier_hop"),
            area_mm2,
            static_power_w: self.leakage_w_per_mm2 * area_mm2 * (v / self.nominal_voltage_v),
        })
    }

    /// Chip area: per-core SRAM and logic plus per-router logic and buffers (docs/cost-model.md).
    pub fn area_mm2(&self, arch: &Architecture) -> f64 {
        let a = |k: &str| self.area.get(k).copied().unwrap_or(0.0);
        let sram_bits = arch.neurons_per_core as f64 * a("neuron_state_bits")
            + arch.synapse_memory_kib as f64 * 8192.0;
        // A lane's datapath at the reference weight width, plus or minus its per-bit part.
        let lane_um2 = a("lane_logic_um2")
            + (arch.weight_bits as f64 - self.reference_weight_bits as f64)
                * a("lane_logic_um2_per_weight_bit");
        let core_um2 = sram_bits * a("sram_um2_per_bit")
            + a("core_logic_um2")
            + arch.synapse_lanes as f64 * lane_um2;
        let ports = 4.0 + arch.cores_per_tile as f64;
        let link = arch.link_width_bits as f64;
        // Each port has a link-wide datapath and a FIFO of fifo_depth whole packets
        // (store-and-forward), each `flits` slots of a link width.
        let packet_slot_bits = arch.flits_per_packet() as f64 * link;
        let buffer_bits = ports * arch.fifo_depth as f64 * packet_slot_bits;
        let router_um2 = ports * link * a("router_logic_um2_per_link_bit")
            + buffer_bits * a("buffer_um2_per_bit");
        (arch.n_cores() as f64 * core_um2 + arch.n_tiles() as f64 * router_um2) * 1e-6
    }
}

/// Costs ready for the engine: energies in J at the supply voltage, latencies in fs.
#[derive(Debug, Clone)]
pub struct ScaledCosts {
    /// Bits of one packet on this design and the flits it takes on its links.
    pub packet_bits: u32,
    pub flits: u32,
    pub voltage_v: f64,
    pub energy_scale: f64,
    pub delay_scale: f64,
    pub e_soma_access: f64,
    pub e_soma_update: f64,
    pub e_soma_spike: f64,
    pub e_synapse: f64,
    pub e_message_out: f64,
    pub e_message_in: f64,
    /// east, west, north, south; per flit and hop at the design's link width.
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
    /// The clocked schedule's barrier signal, per tile it crosses.
    pub t_barrier_hop: u64,
    pub e_barrier_hop: f64,
    pub area_mm2: f64,
    pub static_power_w: f64,
}

/// Femtoseconds per second: the engine's time unit.
pub const FS_PER_S: f64 = 1e15;
