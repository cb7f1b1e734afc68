"""Leak fractions of the TrueAsync LIF neuron (no torch: the NIR and export code use it too).

``leak = 1 - 1/tau`` must be the exact binary fraction ``leak_num / 2**leak_shift``
(docs/fixed-point.md); ``tau = inf`` (or 0) is an IF neuron without leak.
"""

from __future__ import annotations

import math
from fractions import Fraction

TAU_CHOICES = (2.0, 4.0, 8.0)  # leak 1/2, 3/4, 7/8


def leak_fraction(tau: float) -> tuple[int, int]:
    """`(leak_num, leak_shift)` with `leak_num / 2**leak_shift == 1 - 1/tau` exactly.

    `tau = inf` (or 0) means no leak (an IF neuron): `(1, 0)`. Raises ValueError when the leak is
    not a binary fraction with `leak_shift <= 16`.
    """
    if tau is None or math.isinf(tau) or tau == 0:
        return 1, 0
    if tau < 1:
        raise ValueError(f"tau must be >= 1 (got {tau})")
    leak = Fraction(1) - Fraction(tau).limit_denominator(1 << 20) ** -1
    for shift in range(0, 17):
        num = leak * (1 << shift)
        if num.denominator == 1:
            return int(num), shift
    raise ValueError(
        f"tau={tau} gives leak {float(leak)} which is not n / 2**k with k <= 16; "
        f"use one of {TAU_CHOICES} or an IF neuron (tau=inf)"
    )


def tau_from_leak(leak_num: int, leak_shift: int) -> float:
    leak = leak_num / float(1 << leak_shift)
    return math.inf if leak >= 1.0 else 1.0 / (1.0 - leak)
