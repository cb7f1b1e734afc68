//! The timing pass: the sample's events replayed through the asynchronous hardware.
//!
//! Every core unit (axon-in, synapse, soma, axon-out) and every router output port is an actor
//! with its own local time (`busy_until`) that takes packets from bounded FIFOs. A unit that
//! finds its next FIFO full waits (backpressure); router ports arbitrate first come, first
//! served. There is no clock: an event happens when its inputs are there and its unit is free.
//! A core's soma runs step t of a partition once every end-of-step token it depends on has been
//! integrated, every consumer has returned its step credit (at most STEP_WINDOW steps ahead)
//! and the partition has finished step t-1 (docs/simulator.md).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cancel::{self, CancelFlag};
use crate::cost::ScaledCosts;
use crate::error::SimError;
use crate::functional::Trace;
use crate::model::{limits, Architecture};
use crate::plan::{Plan, STEP_WINDOW};
use crate::queue::{self, EventQueue, Key};

/// How the same chip is timed (docs/simulator.md, "Schedules").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Self-timed: a partition runs a step as soon as its tokens and credits are in.
    #[default]
    Asynchronous,
    /// The same chip and packets plus a global barrier per step: no partition starts step
    /// t + 1 before every partition has finished step t and everything in flight has been
    /// integrated, as a clocked chip (and SANA-FE) runs it. The barrier is the only difference.
    Clocked,
}

impl std::str::FromStr for Schedule {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, SimError> {
        match s {
            "asynchronous" => Ok(Self::Asynchronous),
            "clocked" => Ok(Self::Clocked),
            _ => Err(SimError::Architecture(format!(
                "schedule must be 'asynchronous' or 'clocked', got '{s}'"
            ))),
        }
    }
}

const SPIKE: u8 = 0;
const TOKEN: u8 = 1;
const CREDIT: u8 = 2;

#[derive(Debug, Clone, Copy)]
struct Packet {
    dst: u32,
    /// Synapses at the destination (spike) or index into the source's routes (token, credit).
    syn: u32,
    /// Source partition (tokens and credits).
    src: u32,
    /// The step, and the kind in the top two bits (steps < 2^20): 16 bytes a packet.
    tag: u32,
}

impl Packet {
    fn new(dst: u32, syn: u32, src: u32, step: u32, kind: u8) -> Self {
        debug_assert!(step < 1 << 30);
        Packet {
            dst,
            syn,
            src,
            tag: step | (kind as u32) << 30,
        }
    }

    fn step(&self) -> u32 {
        self.tag & ((1 << 30) - 1)
    }

    fn kind(&self) -> u8 {
        (self.tag >> 30) as u8
    }

    /// End-of-step tokens and credits: handshakes with no synaptic work.
    fn is_token(&self) -> bool {
        self.kind() != SPIKE
    }
}

/// One of the timing pass's fixed tables (servers, buffers, FIFO slots), indexed without a
/// bounds check, which was 8-9 % of the pass's instructions.
///
/// Sound because no index into one comes from outside the pass: the tables are sized once in
/// `Sim::new`, and every index used is made below that size and never changes. Unit and
/// buffer ids are `0..n` from `precompute_topology` (`Server::out`, `Buffer::producer`) and
/// from a `RouteTable` of the same mesh (router ports, checked in `RouteTable::for_chip`), or
/// copies of such ids (request lists, the work stack, the event queue's units); an edge port's
/// `OFF_MESH` output is never used, since XY routing never sends a packet off the mesh; a FIFO
/// slot is `b * cap + i` with `b < n` and `i < cap`, and is filled only after a test that the
/// FIFO has room. Debug builds check every access (the engine's tests and fuzz
/// cases run there too, in CI).
struct Table<T>(Vec<T>);

impl<T> Table<T> {
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> std::ops::Index<usize> for Table<T> {
    type Output = T;
    #[inline(always)]
    fn index(&self, i: usize) -> &T {
        debug_assert!(
            i < self.0.len(),
            "timing table index {i} of {}",
            self.0.len()
        );
        // SAFETY: every index is below the length (the type's comment).
        unsafe { self.0.get_unchecked(i) }
    }
}

impl<T> std::ops::IndexMut<usize> for Table<T> {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut T {
        debug_assert!(
            i < self.0.len(),
            "timing table index {i} of {}",
            self.0.len()
        );
        // SAFETY: every index is below the length (the type's comment).
        unsafe { self.0.get_unchecked_mut(i) }
    }
}

/// A FIFO of `cap` packets, stored in `Sim::slots[b * cap ..]` as a ring. 32 bytes, so that a
/// buffer's address is a shift of its id (the pass computes several per packet-hop).
#[derive(Clone, Copy)]
#[repr(align(32))]
struct Buffer {
    head: u32,
    len: u32,
    /// Packets at the front that have arrived (the rest are still on their link).
    arrived: u32,
    /// The next buffer in its consumer's request queue (NONE: the last). A buffer is queued at
    /// most once at a time (exactly while `arrived > 0`), so the queues are intrusive lists.
    next_request: u32,
    /// The unit that fills it (a unit id: a server, or a soma after them; NONE: nobody), set
    /// once.
    producer: u32,
    /// Router input buffers: the router's tile (set once), where `consumer_of` reads it with
    /// the buffer's other fields instead of from a server.
    tile: u32,
    /// Its producer is waiting for a free slot here: always equal to the producer's `blocked`
    /// (a server) or its job's `blocked` (a soma), kept here so that a consumer wakes it
    /// without reading the producer's state.
    waiting: bool,
}

const _: () = assert!(std::mem::size_of::<Buffer>() == 32);

impl Default for Buffer {
    fn default() -> Self {
        Buffer {
            head: 0,
            len: 0,
            arrived: 0,
            next_request: NONE,
            producer: NONE,
            tile: 0,
            waiting: false,
        }
    }
}

const NONE: u32 = u32::MAX;

/// A router port or core unit: its state and, set once, what it is (read together on every
/// try, so kept in one place).
struct Server {
    /// Serving a packet: its completion event is pending.
    busy: bool,
    /// The packet in service where the unit is its sink (the synapse unit, which integrates
    /// it on completion); every other unit has already delivered it into its `out` buffer.
    held: Packet,
    /// Its queue of input buffers with an arrived packet, first come first served (round
    /// robin): a list through `Buffer::next_request` (NONE: empty).
    first_request: u32,
    last_request: u32,
    blocked: bool,
    /// The event queue's class of each service time (set with the topology).
    class: [u8; 2],
    /// The buffer it feeds (u32::MAX: the synapse sink).
    out: u32,
    /// Service time of a spike and of a token (a synapse's spike time depends on the packet).
    dur: [u64; 2],
    /// Its busy time so far, added to `Timing::serial_fs` and `core_busy_fs` at the end (a
    /// sum of integers, so the order does not matter).
    busy_fs: u64,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            busy: false,
            held: Packet::new(0, 0, 0, 0, SPIKE),
            first_request: NONE,
            last_request: NONE,
            blocked: false,
            class: [crate::queue::UNCLASSED; 2],
            out: 0,
            dur: [0; 2],
            busy_fs: 0,
        }
    }
}

struct Job {
    part: u32,
    step: u32,
    /// The spikes still to send: `Trace::spikes[spike..spike_end]`.
    spike: u32,
    spike_end: u32,
    /// The packets of the spike in progress still to send: `Plan::fan[fan..fan_end]`.
    fan: u32,
    fan_end: u32,
    token: u32,
    credit: u32,
    blocked: bool,
}

#[derive(Default)]
struct Soma {
    busy_until: u64,
    job: Option<Job>,
    wake_pending: bool,
}

/// What happened to a unit; also the codes of the timeline's `unit` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Unit {
    Soma = 0,
    AxonOut = 1,
    Link = 2,
    AxonIn = 3,
    Synapse = 4,
}

/// One interval of work of one unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineRecord {
    pub start_fs: u64,
    pub end_fs: u64,
    pub unit: Unit,
    /// Core (core units) or tile (links).
    pub index: u32,
    /// Router output port for links (0 east, 1 west, 2 north, 3 south, 4+k core k); else 0.
    pub port: u8,
    pub step: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timing {
    /// From the first input event (t = 0) to the end of the output layer's last update.
    pub latency_fs: u64,
    /// The last event of any kind: the chip is quiescent.
    pub quiescent_fs: u64,
    pub critical_path_fs: u64,
    pub serial_fs: u64,
    /// End-of-step tokens and step credits sent, and the hops they took.
    pub tokens: u64,
    pub token_hops: u64,
    pub credits: u64,
    /// Clocked schedule: barriers passed (steps - 1) and the tile-to-tile signals they took.
    pub barriers: u64,
    pub barrier_hops: u64,
    pub stalls: u64,
    /// Per core: busy time of axon-in, synapse, soma, axon-out.
    pub core_busy_fs: Vec<[u64; 4]>,
    pub core_tokens_out: Vec<u64>,
    pub core_token_hops: Vec<u64>,
    pub timeline: Option<Vec<TimelineRecord>>,
}

/// A server's kind (0..=3 link east/west/north/south, 4 ejection port, 5 axon-in, 6 synapse,
/// 7 axon-out) and its tile (ports) or core (core units).
#[derive(Clone, Copy)]
struct UnitId {
    kind: u8,
    index: u32,
}

const SYNAPSE: u8 = 6;

#[derive(Clone, Copy)]
struct CoreLoc {
    x: i32,
    y: i32,
    port: u32,
}

/// The largest route table (tiles x cores entries of 4 bytes: 4 MiB).
const ROUTE_TABLE_MAX: usize = 1 << 20;

/// Timeline records a sample takes from the call's budget at a time.
const RECORD_CHUNK: usize = 4096;

fn timeline_limit() -> SimError {
    SimError::Limit(format!(
        "the timeline has more than {} records; simulate fewer samples or steps with timeline on",
        limits::MAX_TIMELINE_RECORDS
    ))
}

/// Refuse a sample whose schedule could overflow the engine's clock. No moment between t = 0
/// and the last event is idle (every event is the completion of a unit in service), so every
/// time is at most the sum of all activity durations; this bounds that sum from the counts,
/// in u128, before the timing pass runs, and names the latency that dominates it. Returns the
/// bound (at most 2^62 fs).
pub fn check_time_bound(
    plan: &Plan,
    trace: &Trace,
    arch: &Architecture,
    c: &ScaledCosts,
    schedule: Schedule,
) -> Result<u128, SimError> {
    let k = &trace.counts;
    let barriers = match schedule {
        Schedule::Clocked => trace.steps as u128 - 1,
        Schedule::Asynchronous => 0,
    };
    let steps = trace.steps as u128;
    let flits = c.flits as u128;
    let per_step = |routes: &[Vec<u32>]| routes.iter().map(|r| r.len() as u128).sum::<u128>();
    let hops_per_step = |hops: &[Vec<u32>]| hops.iter().flatten().map(|&h| h as u128).sum::<u128>();
    let sync = steps * (per_step(&plan.token_dests) + per_step(&plan.credit_dests));
    let sync_hops = steps * (hops_per_step(&plan.token_hops) + hops_per_step(&plan.credit_hops));
    let t_hop_max = *c.t_hop.iter().max().unwrap_or(&0) as u128;
    let parts: [(&str, u128, u128); 9] = [
        (
            "soma_access",
            k.neuron_accesses as u128,
            c.t_soma_access as u128,
        ),
        (
            "soma_update",
            k.lif_updates as u128,
            c.t_soma_update as u128,
        ),
        ("soma_spike", k.lif_spikes as u128, c.t_soma_spike as u128),
        ("synapse_event", k.synaptic_ops as u128, c.t_synapse as u128),
        ("message_out", k.packets as u128, c.t_message_out as u128),
        (
            "message_in",
            k.packets as u128 + sync,
            c.t_message_in as u128,
        ),
        ("token_out", sync, c.t_token_out as u128),
        ("*_hop", (k.hops as u128 + sync_hops) * flits, t_hop_max),
        ("barrier_hop", barriers, barrier_fs(arch, c) as u128),
    ];
    let total: u128 = parts.iter().map(|(_, n, t)| n * t).sum();
    if total <= limits::MAX_SAMPLE_FS {
        return Ok(total);
    }
    let (kind, n, t) = parts
        .iter()
        .max_by_key(|(_, n, t)| n * t)
        .copied()
        .unwrap_or(("", 0, 0));
    Err(SimError::Limit(format!(
        "a sample could last up to {:.3e} s of simulated time, above the engine's limit of {:.1} s \
         (2^62 fs); most of it is latency_s.{kind} ({:.3e} s x {n} events): check the cost \
         model's units, or simulate fewer steps",
        total as f64 * 1e-15,
        limits::MAX_SAMPLE_FS as f64 * 1e-15,
        t as f64 * 1e-15
    )))
}

/// The output of a router port at the mesh's edge.
const OFF_MESH: u32 = u32::MAX - 1;

struct Sim<'a, K: Key> {
    plan: &'a Plan,
    trace: &'a Trace,
    arch: &'a Architecture,
    steps: usize,
    cpt: usize,
    ports: usize,
    base: usize,
    cap: usize,
    lanes: u64,
    t_hop: [u64; 4],
    t_synapse: u64,
    t_in: u64,
    t_out: u64,
    t_token: u64,
    t_access: u64,
    t_update: u64,
    t_spike: u64,
    buffers: Table<Buffer>,
    slots: Table<Packet>,
    servers: Table<Server>,
    somas: Vec<Soma>,
    ready: Vec<BinaryHeap<Reverse<(u32, u32)>>>,
    pending: Vec<u32>,
    done_step: Vec<i64>,
    /// Clocked schedule: the last step the barrier has opened, and the barrier's time.
    clocked: bool,
    released_step: usize,
    t_barrier: u64,
    /// (time, event): a unit has at most one pending event, so the pair is unique and the
    /// order of simultaneous events is deterministic without a sequence number.
    queue: EventQueue<K>,
    /// Per core: its tile's coordinates and its router's ejection port, what XY routing of a
    /// packet to it needs.
    core_loc: Vec<CoreLoc>,
    /// The call's `RouteTable` entries for this chip: empty for a chip too large for one (or
    /// none given), whose packets are routed by coordinates.
    route_table: &'a [u32],
    now: u64,
    /// Units to try at the current time (a stack: the order is fixed, so results are too).
    work: Vec<u32>,
    out: Timing,
    /// The output (last) layer, and the end of its latest soma job so far.
    output_layer: usize,
    output_end_fs: u64,
    /// Timeline records of this sample not yet taken from the call's shared budget.
    unbudgeted_records: usize,
    timeline_budget: &'a AtomicUsize,
    timeline_overflow: bool,
}

/// How one sample's timing pass runs (the parts of a request it needs).
pub struct RunOptions<'a> {
    pub keep_timeline: bool,
    pub schedule: Schedule,
    /// Timeline records left for all samples of the call together.
    pub timeline_budget: &'a AtomicUsize,
    pub cancel: Option<&'a CancelFlag>,
    /// The chip's routes, built once and shared by the call's samples.
    pub route_table: &'a RouteTable,
    /// Use 128-bit event keys even where 64-bit ones fit (a test of the path of chips and
    /// samples too large for them); the results are the same.
    pub wide_keys: bool,
}

/// The router output port (a server index) that a packet for core d takes at tile t, at
/// `t * n_cores + d`: looked up instead of compared coordinate by coordinate, a branch on the
/// packet that the processor mispredicts. Only `new` fills one, so every entry is a router port
/// of the mesh it was built for; a chip above `ROUTE_TABLE_MAX` entries gets an empty table,
/// and the timing pass compares coordinates (both route alike).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    /// (mesh width, mesh height, cores per tile) it was built for.
    mesh: (u32, u32, u32),
    ports: Vec<u32>,
}

impl RouteTable {
    pub fn new(arch: &Architecture) -> Self {
        let mesh = (arch.mesh_width, arch.mesh_height, arch.cores_per_tile);
        let (tiles, cores) = (arch.n_tiles(), arch.n_cores());
        if tiles.checked_mul(cores).is_none_or(|n| n > ROUTE_TABLE_MAX) {
            return RouteTable {
                mesh,
                ports: Vec::new(),
            };
        }
        let n_ports = 4 + arch.cores_per_tile as usize;
        let to: Vec<CoreLoc> = (0..cores).map(|c| core_loc(arch, c)).collect();
        let ports = (0..tiles)
            .flat_map(|t| {
                let (x, y) = arch.tile_xy(t);
                to.iter()
                    .map(move |&loc| (t * n_ports + xy_port(x, y, loc)) as u32)
            })
            .collect();
        RouteTable { mesh, ports }
    }

    /// The entries, where the table was built for `arch`'s mesh; else none (route by
    /// coordinates), so a table of another chip can never index outside this one.
    fn for_chip(&self, arch: &Architecture) -> &[u32] {
        let mesh = (arch.mesh_width, arch.mesh_height, arch.cores_per_tile);
        match self.mesh == mesh {
            true => &self.ports,
            false => &[],
        }
    }
}

/// Where core `c` is: its tile's coordinates and its router's ejection port.
fn core_loc(arch: &Architecture, c: usize) -> CoreLoc {
    let cpt = arch.cores_per_tile as usize;
    let (x, y) = arch.tile_xy(c / cpt);
    CoreLoc {
        x,
        y,
        port: (4 + c % cpt) as u32,
    }
}

/// The output port of the router at (x, y) for a packet to `to` (XY routing, then eject).
fn xy_port(x: i32, y: i32, to: CoreLoc) -> usize {
    if to.x > x {
        0
    } else if to.x < x {
        1
    } else if to.y > y {
        2
    } else if to.y < y {
        3
    } else {
        to.port as usize
    }
}

pub fn run(
    plan: &Plan,
    trace: &Trace,
    arch: &Architecture,
    costs: &ScaledCosts,
    options: &RunOptions,
) -> Result<Timing, SimError> {
    let max_time = check_time_bound(plan, trace, arch, costs, options.schedule)?;
    // 64-bit event keys where every unit id and the sample's longest time fit in them
    let units = (server_count(arch) + arch.n_cores()) as u64; // servers, then somas
    match queue::narrow_shift(units, max_time) {
        Some(shift) if !options.wide_keys => run_with(
            Sim::<u64>::new(plan, trace, arch, costs, options, shift),
            costs,
            options,
        ),
        _ => run_with(
            Sim::<u128>::new(plan, trace, arch, costs, options, 64),
            costs,
            options,
        ),
    }
}

/// The timing pass's servers: every router port (4 links and one ejection port per core of a
/// tile), then axon-in, synapse and axon-out per core. Somas take the unit ids after them.
fn server_count(arch: &Architecture) -> usize {
    arch.n_tiles() * (4 + arch.cores_per_tile as usize) + 3 * arch.n_cores()
}

fn run_with<K: Key>(
    mut sim: Sim<'_, K>,
    costs: &ScaledCosts,
    options: &RunOptions,
) -> Result<Timing, SimError> {
    sim.start();
    let mut events = 0u64;
    // Clocked: when nothing is left to do, the step is over; the barrier opens the next one.
    loop {
        sim.run_until_idle(&mut events, options.cancel)?;
        if !sim.open_barrier() {
            break;
        }
    }
    sim.finish(costs, options.schedule, options.cancel)
}

/// One barrier: a done signal up a tree spanning the mesh and the release back down, one
/// barrier hop per tile each way: 2 x (mesh_width - 1 + mesh_height - 1) barrier hops.
pub fn barrier_fs(arch: &Architecture, c: &ScaledCosts) -> u64 {
    let diameter = (arch.mesh_width as u64 - 1) + (arch.mesh_height as u64 - 1);
    2 * diameter * c.t_barrier_hop
}

impl<K: Key> Sim<'_, K> {
    /// Process events until none is left (the chip is idle).
    fn run_until_idle(
        &mut self,
        events: &mut u64,
        cancel: Option<&CancelFlag>,
    ) -> Result<(), SimError> {
        while let Some((time, ev)) = self.queue.pop() {
            *events += 1;
            if events.is_multiple_of(cancel::CHECK_EVERY) {
                cancel::check(cancel)?;
                if self.timeline_overflow {
                    return Err(timeline_limit());
                }
            }
            self.now = time;
            let id = ev as usize;
            // The unit of the event is tried first, then the work its event pushed (LIFO),
            // exactly as if it had been pushed on the work stack last.
            if id < self.servers.len() {
                self.complete(id);
                self.try_serve(id);
            } else {
                let c = id - self.servers.len();
                self.somas[c].wake_pending = false;
                self.try_soma(c);
            }
            self.drain();
        }
        Ok(())
    }

    /// Clocked: every partition has finished step t and nothing is in flight; open step t + 1
    /// after the barrier's time. False when there is no next step (or the chip is stuck, which
    /// `finish` reports).
    fn open_barrier(&mut self) -> bool {
        let next = self.released_step + 1;
        if !self.clocked
            || next >= self.steps
            || self
                .done_step
                .iter()
                .any(|&d| d != self.released_step as i64)
        {
            return false;
        }
        self.released_step = next;
        self.now += self.t_barrier;
        self.out.serial_fs += self.t_barrier; // the barrier network's activity
        self.out.barriers += 1;
        // a done signal up and a release down every edge of a tree spanning the tiles
        self.out.barrier_hops += 2 * (self.arch.n_tiles() as u64 - 1);
        for q in 0..self.plan.parts.len() {
            if self.pending[q * self.steps + next] == 0 {
                let core = self.plan.parts[q].core as usize;
                self.ready[core].push(Reverse((next as u32, q as u32)));
                self.work.push(self.soma_unit(core));
            }
        }
        self.drain();
        true
    }
}

impl<'a, K: Key> Sim<'a, K> {
    fn new(
        plan: &'a Plan,
        trace: &'a Trace,
        arch: &'a Architecture,
        c: &ScaledCosts,
        options: &RunOptions<'a>,
        shift: u32,
    ) -> Self {
        let cpt = arch.cores_per_tile as usize;
        let ports = 4 + cpt;
        let n_cores = arch.n_cores();
        let base = arch.n_tiles() * ports;
        let n = server_count(arch);
        let flits = c.flits as u64;
        let steps = trace.steps;
        let n_parts = plan.parts.len();
        Sim {
            plan,
            trace,
            arch,
            steps,
            cpt,
            ports,
            base,
            cap: arch.fifo_depth as usize,
            lanes: arch.synapse_lanes as u64,
            t_hop: c.t_hop.map(|t| t * flits),
            t_synapse: c.t_synapse,
            t_in: c.t_message_in,
            t_out: c.t_message_out,
            t_token: c.t_token_out,
            t_access: c.t_soma_access,
            t_update: c.t_soma_update,
            t_spike: c.t_soma_spike,
            buffers: Table(vec![Buffer::default(); n]),
            slots: Table(vec![
                Packet::new(0, 0, 0, 0, SPIKE);
                n * arch.fifo_depth as usize
            ]),
            servers: Table((0..n).map(|_| Server::default()).collect()),
            somas: (0..n_cores).map(|_| Soma::default()).collect(),
            ready: (0..n_cores).map(|_| BinaryHeap::new()).collect(),
            pending: vec![0; n_parts * steps],
            done_step: vec![-1; n_parts],
            clocked: options.schedule == Schedule::Clocked,
            released_step: 0,
            t_barrier: barrier_fs(arch, c),
            queue: EventQueue::new(shift),
            core_loc: Vec::new(),
            route_table: options.route_table.for_chip(arch),
            now: 0,
            work: Vec::with_capacity(64),
            output_layer: plan.lif.len() - 1,
            output_end_fs: 0,
            unbudgeted_records: 0,
            timeline_budget: options.timeline_budget,
            timeline_overflow: false,
            out: Timing {
                core_busy_fs: vec![[0; 4]; n_cores],
                core_tokens_out: vec![0; n_cores],
                core_token_hops: vec![0; n_cores],
                timeline: options.keep_timeline.then(Vec::new),
                ..Timing::default()
            },
        }
    }

    fn precompute_topology(&mut self) {
        let n = self.buffers.len();
        self.core_loc = (0..self.arch.n_cores())
            .map(|c| core_loc(self.arch, c))
            .collect();
        for s in 0..n {
            let (u, out) = (self.unit_id(s), self.output_of(s));
            if s < self.base {
                self.buffers[s].tile = u.index;
            }
            let srv = &mut self.servers[s];
            srv.out = out;
            srv.dur = match u.kind {
                k @ 0..=3 => [self.t_hop[k as usize]; 2],
                4 => [0, 0],
                5 => [self.t_in; 2],
                6 => [0, 0], // spikes: per packet (serve_sink)
                _ => [self.t_out, self.t_token],
            };
            // the event queue's class of each fixed service time (a synapse's spike time varies;
            // a zero time is never scheduled); which durations get a FIFO changes only the speed
            srv.class = [0, 1].map(|token| match srv.dur[token] {
                _ if u.kind == SYNAPSE && token == 0 => queue::VARIABLE,
                0 => queue::VARIABLE,
                d => self.queue.class_of(d),
            });
        }
        for b in 0..n {
            self.buffers[b].producer = self.producer_of(b);
        }
    }

    /// Step t of a partition waits for its tokens and, past the window, its credits (and,
    /// clocked, for the barrier that opens step t).
    fn init_pending(&mut self) {
        let steps = self.steps;
        for (q, e) in self.plan.expected_tokens.iter().enumerate() {
            for t in 0..steps {
                let credits = if t >= STEP_WINDOW {
                    self.plan.expected_credits[q]
                } else {
                    0
                };
                self.pending[q * steps + t] = e[0] + if t >= 1 { e[1] } else { 0 } + credits;
            }
        }
    }

    fn start(&mut self) {
        self.init_pending();
        self.precompute_topology();
        for q in 0..self.plan.parts.len() {
            if self.steps > 0 && self.pending[q * self.steps] == 0 {
                let core = self.plan.parts[q].core as usize;
                self.ready[core].push(Reverse((0, q as u32)));
            }
        }
        for c in 0..self.somas.len() {
            self.work.push(self.soma_unit(c));
        }
        self.drain();
    }

    /// Schedule unit `unit` (a unit id) `dur` from now in the queue's `class`.
    #[inline(always)]
    fn schedule(&mut self, dur: u64, unit: u32, class: u8) {
        // (time, unit) is unique, so the pop order is fully determined.
        self.queue.push_in(self.now + dur, unit as u64, class);
    }

    /// The unit id of core `c`'s soma: after every server, so that at equal times servers'
    /// events come first, each kind in index order.
    fn soma_unit(&self, c: usize) -> u32 {
        (self.servers.len() + c) as u32
    }

    fn drain(&mut self) {
        while let Some(unit) = self.work.pop() {
            let id = unit as usize;
            if id < self.servers.len() {
                self.try_serve(id);
            } else {
                self.try_soma(id - self.servers.len());
            }
        }
    }

    // ---- topology -------------------------------------------------------------------------

    /// What server `s` is, and its tile (router ports) or core (core units).
    fn unit_id(&self, s: usize) -> UnitId {
        if s < self.base {
            UnitId {
                kind: (s % self.ports).min(4) as u8,
                index: (s / self.ports) as u32,
            }
        } else {
            UnitId {
                kind: 5 + ((s - self.base) % 3) as u8,
                index: ((s - self.base) / 3) as u32,
            }
        }
    }

    fn tile_of_core(&self, core: usize) -> usize {
        core / self.cpt
    }

    /// The tile next to `tile` in direction `dir` (east, west, north, south), None at an edge.
    fn neighbour(&self, tile: usize, dir: usize) -> Option<usize> {
        let (x, y) = self.arch.tile_xy(tile);
        let (x, y) = match dir {
            0 => (x + 1, y),
            1 => (x - 1, y),
            2 => (x, y + 1),
            _ => (x, y - 1),
        };
        self.arch.tile_at(x, y)
    }

    /// Output port of `tile` for a packet to `dst` (XY routing, then eject).
    fn route_from(&self, tile: usize, dst: u32) -> usize {
        let (x, y) = self.arch.tile_xy(tile);
        xy_port(x, y, self.core_loc[dst as usize])
    }

    fn consumer_of(&self, b: usize) -> usize {
        if b < self.base {
            let tile = self.buffers[b].tile as usize;
            let dst = self.front(b).dst as usize;
            match self.route_table.get(tile * self.core_loc.len() + dst) {
                Some(&s) => s as usize,
                None => tile * self.ports + self.route_from(tile, dst as u32),
            }
        } else {
            b // eject -> axon-in, syn FIFO -> synapse, out FIFO -> axon-out share the index
        }
    }

    fn output_of(&self, s: usize) -> u32 {
        if s < self.base {
            let (tile, p) = (s / self.ports, s % self.ports);
            if p < 4 {
                // an edge port leads off the mesh; XY routing never picks it
                self.neighbour(tile, p)
                    .map_or(OFF_MESH, |t| (t * self.ports + p) as u32)
            } else {
                (self.base + 3 * (tile * self.cpt + p - 4)) as u32
            }
        } else {
            let (core, unit) = ((s - self.base) / 3, (s - self.base) % 3);
            match unit {
                0 => (s + 1) as u32,
                1 => u32::MAX,
                _ => (self.tile_of_core(core) * self.ports + 4 + core % self.cpt) as u32,
            }
        }
    }

    /// Who fills buffer `b`: a unit id (a server, or a core's soma), NONE at the mesh's edge.
    fn producer_of(&self, b: usize) -> u32 {
        if b < self.base {
            let (tile, p) = (b / self.ports, b % self.ports);
            if p < 4 {
                let opposite = [1, 0, 3, 2][p];
                match self.neighbour(tile, opposite) {
                    Some(t) => (t * self.ports + p) as u32,
                    None => NONE, // an input from off the mesh: never filled
                }
            } else {
                (self.base + 3 * (tile * self.cpt + p - 4) + 2) as u32
            }
        } else {
            let (core, unit) = ((b - self.base) / 3, (b - self.base) % 3);
            match unit {
                0 => (self.tile_of_core(core) * self.ports + 4 + core % self.cpt) as u32,
                1 => (b - 1) as u32,
                _ => self.soma_unit(core),
            }
        }
    }

    // ---- packet movement ------------------------------------------------------------------

    fn register(&mut self, b: usize) {
        let s = self.consumer_of(b);
        let srv = &mut self.servers[s];
        if srv.last_request == NONE {
            srv.first_request = b as u32;
        } else {
            self.buffers[srv.last_request as usize].next_request = b as u32;
        }
        srv.last_request = b as u32;
        // A unit in service tries again when it is done; a blocked one when its output frees.
        if !srv.busy && !srv.blocked {
            self.work.push(s as u32);
        }
    }

    fn front(&self, b: usize) -> Packet {
        debug_assert!(self.buffers[b].len > 0);
        self.slots[b * self.cap + self.buffers[b].head as usize]
    }

    fn is_full(&self, b: usize) -> bool {
        self.buffers[b].len as usize >= self.cap
    }

    fn deliver(&mut self, b: usize, p: Packet) {
        debug_assert!(!self.is_full(b));
        let buf = &mut self.buffers[b];
        let mut at = buf.head as usize + buf.len as usize;
        if at >= self.cap {
            at -= self.cap;
        }
        buf.len += 1;
        self.slots[b * self.cap + at] = p;
    }

    fn arrive(&mut self, b: usize) {
        self.buffers[b].arrived += 1;
        if self.buffers[b].arrived == 1 {
            self.register(b);
        }
    }

    /// The server `s` finished its packet: hand it on.
    fn complete(&mut self, s: usize) {
        let srv = &mut self.servers[s];
        if !srv.busy {
            return;
        }
        srv.busy = false;
        let (out, p) = (srv.out, srv.held);
        if out == u32::MAX {
            // No retry of `s` is pushed: the caller tries it at once, and until a newer push
            // (register) it stays in service or without requests, so a retry would do nothing.
            self.integrate(p);
        } else {
            self.arrive(out as usize);
        }
    }

    /// Serve the next packet of server `s` if it is free, has one and has room for it. Most
    /// tries find it busy, without requests or stalled (units are pushed once per arrival):
    /// those tests are inlined into the callers, the service is not.
    #[inline(always)]
    fn try_serve(&mut self, s: usize) {
        loop {
            let srv = &self.servers[s];
            if srv.busy {
                return; // its completion event will try again
            }
            if srv.first_request == NONE {
                return;
            }
            let (b, out) = (srv.first_request as usize, srv.out);
            if out != u32::MAX && self.is_full(out as usize) {
                // a stall (counted once per episode) without the call: about a fifth of tries
                let srv = &mut self.servers[s];
                if !srv.blocked {
                    srv.blocked = true;
                    self.buffers[out as usize].waiting = true;
                    self.out.stalls += 1;
                }
                return; // woken when `out` frees a slot
            }
            let again = match out {
                u32::MAX => self.serve_sink(s, b),
                out => self.serve_forward(s, b, out as usize),
            };
            if !again {
                return;
            }
        }
    }

    /// Start serving buffer `b`'s front packet on `s`, which forwards it into buffer `out`
    /// (which has room); true when `s` is to be tried again at once (a zero-time hand-over).
    #[inline(never)]
    fn serve_forward(&mut self, s: usize, b: usize, out: usize) -> bool {
        debug_assert!(!self.is_full(out));
        let srv = &self.servers[s];
        let (durs, classes, blocked) = (srv.dur, srv.class, srv.blocked);
        let head = self.front(b);
        let token = head.is_token() as usize;
        let dur = durs[token];
        if blocked {
            self.buffers[out].waiting = false;
        }
        self.take(s, b, dur, &head);
        self.deliver(out, head);
        if dur == 0 {
            // a zero-time hand-over (the ejection port) completes at once; the unit is tried
            // again next, as if pushed on the work stack last
            self.arrive(out);
            return true;
        }
        self.schedule(dur, s as u32, classes[token]);
        false
    }

    /// Start serving buffer `b`'s front packet on the synapse unit `s`, which integrates it
    /// when done (a spike takes a time that depends on its synapses, a token none). A
    /// synapse unit has no output buffer, so it never waits for one.
    #[inline(never)]
    fn serve_sink(&mut self, s: usize, b: usize) -> bool {
        let head = self.front(b);
        let (dur, class) = match head.is_token() {
            true => (self.servers[s].dur[1], self.servers[s].class[1]),
            false => {
                // one lane (the common case) needs no division, whose latency is on the path
                let rows = match self.lanes {
                    1 => head.syn as u64,
                    lanes => (head.syn as u64).div_ceil(lanes),
                };
                (rows * self.t_synapse, self.servers[s].class[0])
            }
        };
        self.take(s, b, dur, &head);
        if dur == 0 {
            // a token passes at once: `s` is tried again after the work its integration pushes
            self.work.push(s as u32);
            self.integrate(head);
            return false;
        }
        self.servers[s].held = head;
        self.schedule(dur, s as u32, class);
        false
    }

    /// The part of a service common to every unit: take `head` off buffer `b` and `b`, the
    /// first in line, off the request queue of `s`; wake `b`'s producer if it waits for the
    /// freed slot; queue `b` again if its next packet has arrived.
    #[inline(always)]
    fn take(&mut self, s: usize, b: usize, dur: u64, head: &Packet) {
        let cap = self.cap as u32;
        let buf = &mut self.buffers[b];
        let next = std::mem::replace(&mut buf.next_request, NONE);
        buf.head += 1;
        if buf.head == cap {
            buf.head = 0;
        }
        buf.len -= 1;
        buf.arrived -= 1;
        let (more, producer, waiting) = (buf.arrived > 0, buf.producer, buf.waiting);
        let srv = &mut self.servers[s];
        srv.blocked = false;
        srv.busy_fs += dur;
        srv.first_request = next;
        if next == NONE {
            srv.last_request = NONE;
        }
        // In service from now on: re-registering `b` at `s` (its next packet takes the same
        // port) then pushes no try of `s`, which would find it busy and do nothing. A
        // zero-time hand-over stays free, and is tried again as before.
        srv.busy = dur != 0;
        if waiting {
            self.work.push(producer);
        }
        if more {
            self.register(b);
        }
        if self.out.timeline.is_some() {
            self.record_service(s, dur, head);
        }
    }

    /// The timeline record of a service of `s`.
    #[cold]
    fn record_service(&mut self, s: usize, dur: u64, p: &Packet) {
        let UnitId { kind, index } = self.unit_id(s);
        let (unit, port) = match kind {
            0..=3 => (Unit::Link, kind),
            4 => (Unit::Link, (s % self.ports) as u8),
            5 => (Unit::AxonIn, 0),
            6 => (Unit::Synapse, 0),
            _ => (Unit::AxonOut, 0),
        };
        self.record(TimelineRecord {
            start_fs: self.now,
            end_fs: self.now + dur,
            unit,
            index,
            port,
            step: p.step(),
        });
    }

    /// Keep a timeline record. Records are taken from the call's shared budget in chunks, so
    /// the limit holds for all samples together while they run (beyond it the call stops).
    fn record(&mut self, r: TimelineRecord) {
        if let Some(tl) = self.out.timeline.as_mut() {
            if self.timeline_overflow {
                return;
            }
            tl.push(r);
            self.unbudgeted_records += 1;
            if self.unbudgeted_records == RECORD_CHUNK {
                self.take_budget();
            }
        }
    }

    fn take_budget(&mut self) {
        let n = std::mem::take(&mut self.unbudgeted_records);
        let used = self.timeline_budget.fetch_add(n, Ordering::Relaxed) + n;
        if used > limits::MAX_TIMELINE_RECORDS {
            self.timeline_overflow = true;
        }
    }

    /// The synapse unit finished a packet; a token may unblock soma work.
    fn integrate(&mut self, p: Packet) {
        if !p.is_token() {
            return;
        }
        let plan = self.plan;
        if p.kind() == TOKEN {
            for &(q, d) in &plan.token_targets[p.src as usize][p.syn as usize] {
                self.release(q, p.step() as usize + d as usize);
            }
        } else {
            for &q in &plan.credit_targets[p.src as usize][p.syn as usize] {
                self.release(q, p.step() as usize + STEP_WINDOW);
            }
        }
    }

    /// One dependency of (partition q, step t) is met; queue it on its soma if it was the last.
    fn release(&mut self, q: u32, t: usize) {
        if t >= self.steps {
            return;
        }
        let slot = q as usize * self.steps + t;
        self.pending[slot] -= 1;
        if self.pending[slot] == 0
            && self.done_step[q as usize] == t as i64 - 1
            && (!self.clocked || t <= self.released_step)
        {
            let core = self.plan.parts[q as usize].core as usize;
            self.ready[core].push(Reverse((t as u32, q)));
            self.work.push(self.soma_unit(core));
        }
    }

    // ---- soma -----------------------------------------------------------------------------

    fn soma_duration(&self, part: usize, step: usize) -> u64 {
        let [acc, upd, spk] = self.trace.soma_work[step * self.trace.n_parts + part];
        acc as u64 * self.t_access + upd as u64 * self.t_update + spk as u64 * self.t_spike
    }

    fn try_soma(&mut self, c: usize) {
        loop {
            if self.somas[c].busy_until > self.now {
                if !self.somas[c].wake_pending {
                    self.somas[c].wake_pending = true;
                    let dur = self.somas[c].busy_until - self.now;
                    self.schedule(dur, self.soma_unit(c), queue::VARIABLE);
                }
                return;
            }
            if self.somas[c].job.is_some() && !self.emit(c) {
                return; // waiting for room in the axon-out FIFO
            }
            let Some(Reverse((step, part))) = self.ready[c].pop() else {
                return;
            };
            let dur = self.soma_duration(part as usize, step as usize);
            if self.plan.parts[part as usize].layer as usize == self.output_layer {
                self.output_end_fs = self.output_end_fs.max(self.now + dur);
            }
            self.out.serial_fs += dur;
            self.out.core_busy_fs[c][2] += dur;
            self.record(TimelineRecord {
                start_fs: self.now,
                end_fs: self.now + dur,
                unit: Unit::Soma,
                index: c as u32,
                port: 0,
                step,
            });
            let spikes = step as usize * self.trace.n_parts + part as usize;
            let soma = &mut self.somas[c];
            soma.busy_until = self.now + dur;
            soma.job = Some(Job {
                part,
                step,
                spike: self.trace.spike_start[spikes],
                spike_end: self.trace.spike_start[spikes + 1],
                fan: 0,
                fan_end: 0,
                token: 0,
                credit: 0,
                blocked: false,
            });
        }
    }

    /// Push the job's packets, then its tokens, into the axon-out FIFO; true when all are out.
    fn emit(&mut self, c: usize) -> bool {
        let fifo = self.base + 3 * c + 2;
        let mut job = self.somas[c].job.take().expect("emitting job");
        if !self.emit_spikes(fifo, &mut job) || !self.emit_handshakes(c, fifo, &mut job) {
            self.somas[c].job = Some(job);
            return false;
        }
        let (part, step) = (job.part as usize, job.step as usize);
        self.done_step[part] = step as i64;
        if step + 1 < self.steps
            && self.pending[part * self.steps + step + 1] == 0
            && (!self.clocked || step < self.released_step)
        {
            self.ready[c].push(Reverse((step as u32 + 1, part as u32)));
        }
        true
    }

    /// The job's FIFO is full: it waits (a stall, counted once per episode).
    fn stall_job(&mut self, fifo: usize, job: &mut Job) {
        if !job.blocked {
            job.blocked = true;
            self.buffers[fifo].waiting = true;
            self.out.stalls += 1;
        }
    }

    /// Push `packet` into the job's FIFO (which has room).
    fn send(&mut self, fifo: usize, job: &mut Job, packet: Packet) {
        if job.blocked {
            job.blocked = false;
            self.buffers[fifo].waiting = false;
        }
        self.deliver(fifo, packet);
        self.arrive(fifo);
    }

    /// Push the job's spike packets from where it stopped; false when the FIFO is full.
    fn emit_spikes(&mut self, fifo: usize, job: &mut Job) -> bool {
        let (plan, trace) = (self.plan, self.trace);
        loop {
            while job.fan < job.fan_end {
                if self.is_full(fifo) {
                    self.stall_job(fifo, job);
                    return false;
                }
                let e = plan.fan[job.fan as usize];
                self.send(
                    fifo,
                    job,
                    Packet::new(e.core, e.synapses, job.part, job.step, SPIKE),
                );
                job.fan += 1;
            }
            if job.spike == job.spike_end {
                return true;
            }
            let neuron = trace.spikes[job.spike as usize] as usize;
            (job.fan, job.fan_end) = (plan.fan_start[neuron], plan.fan_start[neuron + 1]);
            job.spike += 1;
        }
    }

    /// Push the job's end-of-step tokens, then its credits; false when the FIFO is full.
    fn emit_handshakes(&mut self, c: usize, fifo: usize, job: &mut Job) -> bool {
        let plan = self.plan;
        loop {
            let part = job.part as usize;
            let packet = if (job.token as usize) < plan.token_dests[part].len() {
                // A token that no step can use (every target's step is past the last) is not
                // sent: the chip knows the sample's length.
                let k = job.token as usize;
                if job.step as usize + plan.token_min_delay[part][k] as usize >= self.steps {
                    job.token += 1;
                    continue;
                }
                Packet::new(
                    plan.token_dests[part][k],
                    job.token,
                    job.part,
                    job.step,
                    TOKEN,
                )
            } else if (job.credit as usize) < plan.credit_dests[part].len() {
                // A credit releases the producers' step t + STEP_WINDOW: none after the last.
                if job.step as usize + STEP_WINDOW >= self.steps {
                    job.credit = plan.credit_dests[part].len() as u32;
                    continue;
                }
                let dst = plan.credit_dests[part][job.credit as usize];
                Packet::new(dst, job.credit, job.part, job.step, CREDIT)
            } else {
                return true;
            };
            if self.is_full(fifo) {
                self.stall_job(fifo, job);
                return false;
            }
            let hops = match packet.kind() {
                TOKEN => {
                    job.token += 1;
                    self.out.tokens += 1;
                    plan.token_hops[part][packet.syn as usize] as u64
                }
                _ => {
                    job.credit += 1;
                    self.out.credits += 1;
                    plan.credit_hops[part][packet.syn as usize] as u64
                }
            };
            self.out.token_hops += hops;
            self.out.core_tokens_out[c] += 1;
            self.out.core_token_hops[c] += hops;
            self.send(fifo, job, packet);
        }
    }

    /// Fold every server's busy time into the serial time and its core's busy times.
    fn add_server_busy_time(&mut self) {
        for s in 0..self.servers.len() {
            let busy_fs = self.servers[s].busy_fs;
            self.out.serial_fs += busy_fs;
            let UnitId { kind, index: core } = self.unit_id(s);
            let slot = match kind {
                5 => 0,
                6 => 1,
                7 => 3,
                _ => continue, // router ports
            };
            self.out.core_busy_fs[core as usize][slot] += busy_fs;
        }
    }

    fn finish(
        mut self,
        costs: &ScaledCosts,
        schedule: Schedule,
        cancel: Option<&CancelFlag>,
    ) -> Result<Timing, SimError> {
        self.take_budget();
        if self.timeline_overflow {
            return Err(timeline_limit());
        }
        let last = self.steps as i64 - 1;
        if let Some(q) = self.done_step.iter().position(|&d| d != last) {
            return Err(SimError::Internal(format!(
                "partition {q} (layer {}, core {}) stopped at step {} of {}",
                self.plan.parts[q].layer,
                self.plan.parts[q].core,
                self.done_step[q] + 1,
                self.steps
            )));
        }
        self.add_server_busy_time();
        self.out.latency_fs = self.output_end_fs;
        self.out.quiescent_fs = self.now;
        self.out.critical_path_fs =
            critical_path(self.plan, self.trace, self.arch, costs, schedule, cancel)?;
        Ok(self.out)
    }
}

/// Longest dependency chain to an output-layer update with no contention and no sharing of
/// units: a lower bound on latency.
pub fn critical_path(
    plan: &Plan,
    trace: &Trace,
    arch: &Architecture,
    c: &ScaledCosts,
    schedule: Schedule,
    cancel: Option<&CancelFlag>,
) -> Result<u64, SimError> {
    let clocked = schedule == Schedule::Clocked;
    let t_barrier = barrier_fs(arch, c);
    let steps = trace.steps;
    let n_parts = plan.parts.len();
    let flits = c.flits as u64;
    let t_msg = c.t_message_out.min(c.t_token_out);
    let route_fs = |from: u32, to: u32| -> u64 {
        let h = crate::plan::route_hops(arch, from as usize, to as usize);
        (0..4)
            .map(|d| h[d] as u64 * flits * c.t_hop[d])
            .sum::<u64>()
            + c.t_message_in
    };
    // incoming tokens per partition: (source partition, index of the route, delay, the
    // route's time), each route's time computed once
    let mut incoming: Vec<Vec<(usize, usize, usize, u64)>> = vec![Vec::new(); n_parts];
    for (src, targets) in plan.token_targets.iter().enumerate() {
        for (k, list) in targets.iter().enumerate() {
            let route = route_fs(plan.parts[src].core, plan.token_dests[src][k]);
            for &(q, d) in list {
                incoming[q as usize].push((src, k, d as usize, route));
            }
        }
    }
    // spike packets each (partition, step) sends, counted once (every target reads them)
    let messages: Vec<u64> = (0..steps)
        .flat_map(|t| {
            (0..n_parts).map(move |q| {
                trace
                    .spikes_of(t, q)
                    .iter()
                    .map(|&n| plan.fanout_of(n as usize).len() as u64)
                    .sum::<u64>()
            })
        })
        .collect();
    let mut finish = vec![0u64; n_parts * steps];
    // the chain ends at the output layer's last update, as the latency does
    let output_layer = plan.lif.len() - 1;
    let mut latest = 0;
    for t in 0..steps {
        cancel::check(cancel)?;
        // clocked: step t opens once every partition has finished step t - 1
        let barrier = match t {
            0 => 0,
            _ if clocked => {
                (0..n_parts)
                    .map(|q| finish[q * steps + t - 1])
                    .max()
                    .unwrap_or(0)
                    + t_barrier
            }
            _ => 0,
        };
        for q in 0..n_parts {
            let mut start = if t > 0 { finish[q * steps + t - 1] } else { 0 };
            start = start.max(barrier);
            for &(src, k, d, route) in &incoming[q] {
                if t < d {
                    continue;
                }
                let s = t - d;
                // the tokens sent before this one at step s (those no step can use are not)
                let ahead = plan.token_min_delay[src][..k]
                    .iter()
                    .filter(|&&m| s + (m as usize) < steps)
                    .count() as u64;
                let sent =
                    finish[src * steps + s] + (messages[s * n_parts + src] + ahead + 1) * t_msg;
                start = start.max(sent + route);
            }
            let [acc, upd, spk] = trace.soma_work[t * n_parts + q];
            let dur = acc as u64 * c.t_soma_access
                + upd as u64 * c.t_soma_update
                + spk as u64 * c.t_soma_spike;
            finish[q * steps + t] = start + dur;
            if plan.parts[q].layer as usize == output_layer {
                latest = latest.max(start + dur);
            }
        }
    }
    Ok(latest)
}
