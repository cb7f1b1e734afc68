"""`ancoef simulate --nir FILE`: the options and the workload of a NIR graph (wiring only; the
import is `trainer.nir_io`)."""

from __future__ import annotations

from services.options import nonneg_float, positive_float, positive_int


def add_arguments(p) -> None:
    g = p.add_argument_group("NIR input (instead of --workload)")
    g.add_argument("--nir", metavar="FILE", default=None,
                   help="simulate the network of a NIR graph (snnTorch, SpikingJelly, ANCoEF exports)")
    g.add_argument("--nir-dt", type=positive_float, default=None,
                   help="the graph's time step in seconds (default: its metadata, else 1e-4 as "
                   "snnTorch and SpikingJelly write)")
    g.add_argument("--nir-weight-bits", type=positive_int, default=8,
                   help="integer range of layers whose weights are not on a common grid (2..16)")
    g.add_argument("--inputs", metavar="NPY", default=None,
                   help="input spikes: bool [N, T, n_inputs] or frames [N, T, C, H, W]; default "
                   "Poisson spikes (--rate, --timesteps, --input-samples, --seed)")
    g.add_argument("--timesteps", type=positive_int, default=20)
    g.add_argument("--rate", type=nonneg_float, default=0.1)
    g.add_argument("--input-samples", type=positive_int, default=4)
    g.add_argument("--seed", type=int, default=0)


def workload(args):
    from trainer.nir_io import nir_workload

    return nir_workload(args.nir, args.inputs, dt=args.nir_dt, weight_bits=args.nir_weight_bits,
                        timesteps=args.timesteps, rate=args.rate, samples=args.input_samples,
                        seed=args.seed)
