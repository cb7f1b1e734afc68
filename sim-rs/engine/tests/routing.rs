//! Routing by the route table and by coordinates (the path of chips too large for a table, or
//! of a table built for another chip) time every packet alike, and so do 64-bit and 128-bit
//! event keys (the path of chips or samples too large for 64 bits).

mod common;

use std::sync::atomic::AtomicUsize;

use common::{input, lif};
use trueasync_engine::plan::Plan;
use trueasync_engine::timing::{self, RouteTable, RunOptions, Schedule};
use trueasync_engine::{Architecture, Connectivity, CostModel, Network, Projection, Semantics};

/// A 48-24-8 network spread over 3 x 4 tiles of 2 cores, with backpressure, in both semantics
/// and both schedules, timeline included.
#[test]
fn the_route_table_times_exactly_as_coordinates_do() {
    let sizes = [48, 24, 8];
    let net = Network {
        layers: vec![input("in", 48), lif("h", 24, 3), lif("out", 8, 3)],
        projections: (1..3)
            .map(|i| Projection {
                pre: i - 1,
                post: i,
                conn: Connectivity::Dense {
                    weights: (0..sizes[i - 1] * sizes[i]).map(|k| k * 7 % 5).collect(),
                },
            })
            .collect(),
        weight_scale: 1.0,
    };
    let arch = Architecture {
        mesh_width: 3,
        mesh_height: 4,
        cores_per_tile: 2,
        neurons_per_core: 4,
        fifo_depth: 2,
        ..Architecture::default()
    };
    // the same number of tiles and cores on another mesh: its table must not be used here
    let other = Architecture {
        mesh_width: 6,
        mesh_height: 2,
        ..arch.clone()
    };
    let steps = 12;
    let inputs: Vec<u8> = (0..steps * 48).map(|k| u8::from(k * 5 % 7 < 3)).collect();
    let costs = CostModel::preset("loihi").unwrap().scaled(&arch).unwrap();
    let core_of = trueasync_engine::map_network(&net, &arch).unwrap();
    for semantics in [Semantics::Timestep, Semantics::Sanafe] {
        let plan = Plan::build(&net, &arch, core_of.clone(), semantics).unwrap();
        let trace =
            trueasync_engine::functional::run(&plan, &inputs, steps, 48, false, None).unwrap();
        for schedule in [Schedule::Asynchronous, Schedule::Clocked] {
            let budget = AtomicUsize::new(0);
            let timing_keys = |routes: &RouteTable, wide_keys: bool| {
                let options = RunOptions {
                    keep_timeline: true,
                    schedule,
                    timeline_budget: &budget,
                    cancel: None,
                    route_table: routes,
                    wide_keys,
                };
                timing::run(&plan, &trace, &arch, &costs, &options).unwrap()
            };
            let timing = |routes: &RouteTable| timing_keys(routes, false);
            let by_table = timing(&RouteTable::new(&arch));
            assert!(by_table.stalls > 0 && by_table.token_hops > 0);
            assert!(by_table.timeline.as_ref().is_some_and(|t| !t.is_empty()));
            let by_coordinates = timing(&RouteTable::default());
            assert_eq!(by_table, by_coordinates, "{semantics:?} {schedule:?}");
            let by_other_chips_table = timing(&RouteTable::new(&other));
            assert_eq!(by_table, by_other_chips_table, "{semantics:?} {schedule:?}");
            let wide_keys = timing_keys(&RouteTable::new(&arch), true);
            assert_eq!(by_table, wide_keys, "{semantics:?} {schedule:?}");
        }
    }
}
