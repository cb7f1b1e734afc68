"""Silence the known third-party messages that bury a run's progress lines.

Each filter names one message we have seen and checked to be harmless here:

- gymnasium: "Overriding environment rllib-single-agent-env-v0 already in registry" (RLlib
  re-registers its wrapper env for every algorithm it builds, i.e. every search);
- Ray Tune: "Install gputil for GPU system monitoring." (no GPU on these machines);
- RLlib / Ray: deprecation warnings about APIs RLlib itself calls (e.g. ``RLModule(config=...)``),
  logged through ``ray._common.deprecation``;
- RLlib: "You are running PPO on the new API stack! This is the new default behavior" (we ask for
  it explicitly);
- Ray: "Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt
  out" (the local cluster of one process; the authentication itself is left as Ray sets it).
"""

from __future__ import annotations

import logging
import warnings

_done = False


class _Drop(logging.Filter):
    def __init__(self, *fragments: str):
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(f in msg for f in self.fragments)


def quiet_third_party() -> None:
    global _done
    if _done:
        return
    _done = True
    warnings.filterwarnings("ignore", message=r".*Overriding environment .* already in registry")
    logging.getLogger("ray.tune.utils.util").addFilter(_Drop("Install gputil"))
    logging.getLogger("ray._common.deprecation").setLevel(logging.ERROR)
    logging.getLogger("ray.rllib.utils.deprecation").setLevel(logging.ERROR)
    logging.getLogger("ray.rllib.algorithms.algorithm_config").addFilter(_Drop("on the new API stack!"))
    logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(
        _Drop("Token authentication is enabled for this Ray cluster"))
