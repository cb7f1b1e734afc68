"""A local Ray (ensure_ray, and sweeps through init_local_ray) is started once more when its node timed out at
startup, and only then."""

import pytest

ray = pytest.importorskip("ray")

from agent import rl  # noqa: E402


class FakeRay:
    """ray.init that fails with `errors` in turn, then starts."""

    def __init__(self, monkeypatch, errors):
        self.errors, self.inits, self.shutdowns, self.up = list(errors), 0, 0, False
        monkeypatch.setattr(ray, "is_initialized", lambda: self.up)
        monkeypatch.setattr(ray, "init", self.init)
        monkeypatch.setattr(ray, "shutdown", self.shutdown)

    def init(self, **kwargs):
        self.inits += 1
        if self.errors:
            raise self.errors.pop(0)
        self.up = True

    def shutdown(self):
        self.shutdowns += 1


STARTUP = Exception("The current node timed out during startup. This could happen because some of the raylet "
                    "failed to startup or the GCS has become overloaded.")


def test_a_startup_timeout_is_retried_once(monkeypatch, capsys):
    fake = FakeRay(monkeypatch, [STARTUP])
    rl.ensure_ray(num_cpus=2)
    assert (fake.inits, fake.shutdowns, fake.up) == (2, 1, True)
    assert "timed out at startup; starting it again" in capsys.readouterr().err


def test_a_second_startup_timeout_is_raised(monkeypatch):
    fake = FakeRay(monkeypatch, [STARTUP, STARTUP])
    with pytest.raises(Exception, match="timed out during startup"):
        rl.ensure_ray(num_cpus=2)
    assert fake.inits == rl.RAY_START_ATTEMPTS == 2


def test_other_errors_are_not_retried(monkeypatch):
    fake = FakeRay(monkeypatch, [ValueError("num_cpus must be positive")])
    with pytest.raises(ValueError, match="num_cpus"):
        rl.ensure_ray(num_cpus=2)
    assert (fake.inits, fake.shutdowns) == (1, 0)


def test_a_running_ray_is_kept(monkeypatch):
    fake = FakeRay(monkeypatch, [])
    fake.up = True
    rl.ensure_ray()
    assert fake.inits == 0
