"""The one JSON encoder of the search and co-exploration outputs.

`to_jsonable` turns numpy scalars and arrays, tuples, paths and non-finite floats (as ``null``:
JSON has no NaN or infinity) into plain JSON values; `dumps` writes the result strictly.
"""

from __future__ import annotations

import json
import math
from pathlib import PurePath
from typing import Any

import numpy as np


def to_jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, PurePath):
        return str(x)
    return x


def dumps(x: Any, indent: int | None = 1) -> str:
    return json.dumps(to_jsonable(x), indent=indent, allow_nan=False)


def default(o: Any) -> Any:
    """For ``json.dumps(..., default=default)`` where the caller cannot pre-convert."""
    v = to_jsonable(o)
    if v is o:
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")
    return v
