"""The run store on its own (standard library only): create, resume, lock, corruption, settings."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runstore import (
    NoRun,
    RunExists,
    RunLocked,
    RunStore,
    StoreCorrupt,
    inspect_store,
    settings_diff,
    write_file_atomic,
)

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _new(folder: Path, **settings) -> RunStore:
    s = RunStore.create(folder, kind="test", settings={"a": 1, **settings}, fingerprint="f" * 64, seed=0)
    s.begin_attempt()
    return s


def test_steps_simulations_and_trainings_survive_a_reopen(tmp_path):
    s = _new(tmp_path / "run")
    with s.transaction("p1") as tx:
        tx.put_step("one", {"x": 0.1 + 0.2})
    with s.transaction("p1") as tx:
        seq = tx.put_simulation("w", "d", "timestep", "loihi", n_samples=2, figures={"energy_j": 1.5}, result=b"xyz")
    with s.transaction("p2") as tx:
        tx.put_training_checkpoint("job", from_step=0, step=5, checkpoint="c/j.step5.pt", sha256="0" * 64)
        tx.put_training("job", steps=9, checkpoint="c/j.pt", sha256="1" * 64, metrics={"loss": 0.25})
    assert seq == 1
    s.close("interrupted")
    r = RunStore.resume(tmp_path / "run", kind="test")
    assert r.info.settings == {"a": 1} and r.info.state == "interrupted" and r.info.attempts == 1
    assert r.begin_attempt() == 2
    assert r.step("one") == {"x": 0.1 + 0.2}  # floats round-trip exactly
    assert r.simulation("w", "d", "timestep", "loihi") == b"xyz"
    assert r.simulation("w", "other", "timestep", "loihi") is None
    assert r.training("job")["metrics"] == {"loss": 0.25}
    assert r.latest_checkpoint("job")["step"] == 5
    assert set(r.phase_times()) == {"p1", "p2"}
    with r.transaction("p1") as tx:
        assert tx.put_simulation("w", "d2", "timestep", "loihi", n_samples=1, figures={}, result=b"") == 2
    r.close("succeeded")


def test_a_failed_step_commits_nothing(tmp_path):
    s = _new(tmp_path / "run")
    with pytest.raises(RuntimeError):
        with s.transaction("p") as tx:
            tx.put_step("half", {"done": False})
            raise RuntimeError("killed half-way")
    assert s.step("half") is None
    s.close("failed")


def test_refusals_change_no_file(tmp_path):
    with pytest.raises(NoRun, match="holds no run"):
        RunStore.resume(tmp_path, kind="test")
    with pytest.raises(NoRun):
        RunStore.resume(tmp_path / "missing", kind="test")
    s = _new(tmp_path / "run")
    with pytest.raises(RunExists):
        RunStore.create(tmp_path / "run", kind="test", settings={}, fingerprint="x")
    s.close("succeeded")
    with pytest.raises(Exception, match="kind 'test', not 'other'"):
        RunStore.resume(tmp_path / "run", kind="other")
    before = _snapshot(tmp_path / "run")
    # a second process holds the run: refused, naming the holder
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from runstore import RunStore
        s = RunStore.resume({str(tmp_path / 'run')!r}, kind="test")
        print("locked", flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match="in use by"):
            RunStore.resume(tmp_path / "run", kind="test")
    finally:
        holder.kill()
        holder.wait()
    assert _snapshot(tmp_path / "run") == before
    RunStore.resume(tmp_path / "run", kind="test").release()  # free again once the holder died


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_store_is_reported_by_name_and_kept(tmp_path, damage):
    s = _new(tmp_path / "run")
    for i in range(300):  # enough pages that a cut loses some
        with s.transaction("p") as tx:
            tx.put_step(f"s{i}", {"blob": "x" * 500})
    s.close("interrupted")
    path = tmp_path / "run" / "run.sqlite"
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a database" * 100, "empty": b""}[damage])
    before = _snapshot(tmp_path / "run")
    with pytest.raises(StoreCorrupt) as exc:
        RunStore.resume(tmp_path / "run", kind="test")
    assert str(path) in str(exc.value) and "left as it is" in str(exc.value)
    assert _snapshot(tmp_path / "run") == before


def test_a_killed_writer_leaves_a_resumable_store(tmp_path):
    """SIGKILL right after a commit: the write-ahead log holds it; inspection reads it from a copy."""
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from runstore import RunStore
        s = RunStore.create({str(tmp_path / 'run')!r}, kind="test", settings={{"a": 1}}, fingerprint="f", seed=0)
        s.begin_attempt()
        for i in range(5):
            with s.transaction("p") as tx:
                tx.put_step(f"s{{i}}", {{"i": i}})
        os.kill(os.getpid(), 9)
        """)
    subprocess.run([sys.executable, "-c", code], check=False)
    folder = tmp_path / "run"
    assert (folder / "run.sqlite-wal").exists()
    before = _snapshot(folder)
    info = inspect_store(folder / "run.sqlite", "test")
    assert info.state == "running" and info.attempts == 1
    assert _snapshot(folder) == before  # inspection works on a copy
    r = RunStore.resume(folder, kind="test")
    assert r.begin_attempt() == 2
    assert [r.step(f"s{i}") for i in range(5)] == [{"i": i} for i in range(5)]
    rows = r.conn.execute("SELECT attempt, state FROM attempts ORDER BY attempt").fetchall()
    assert rows == [(1, "interrupted"), (2, "running")]
    r.close("succeeded")
    assert not (folder / "run.sqlite-wal").exists()  # a closed store is one file


def test_settings_diff_and_atomic_files(tmp_path):
    assert settings_diff({"a": 1, "b": [4]}, {"a": 1, "b": [4, 8], "c": None}) == [("b", [4], [4, 8])]
    p = tmp_path / "d" / "f.bin"
    sha = write_file_atomic(p, b"abc")
    assert p.read_bytes() == b"abc" and sha == hashlib.sha256(b"abc").hexdigest()
    assert [q.name for q in p.parent.iterdir()] == ["f.bin"]  # no temporary left behind


def test_schema_is_documented():
    doc = (ROOT / "docs" / "run-store.md").read_text()
    conn = sqlite3.connect(":memory:")
    from runstore.store import SCHEMA

    conn.executescript(SCHEMA)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        assert f"`{table}`" in doc, table
        for col in conn.execute(f"PRAGMA table_info({table})"):
            assert f"`{col[1]}`" in doc, f"{table}.{col[1]}"
