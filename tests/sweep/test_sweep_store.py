"""The sweep's run store without a cluster: idempotent commits, refused resumes, a task's result."""

from __future__ import annotations

import sqlite3

import yaml

from services.cli import main
from sweep import commit_result, prepare, resume_sweep, start_sweep
from sweep.spec import parse_spec
from sweep.task import run_task

SPEC = {
    "name": "unit",
    "budget": 4,
    "ranges": {"mesh_width": "1:3", "mesh_height": "1:3", "cores_per_tile": "1"},
    "workloads": {"mlp": {"generate": "mlp", "sizes": [32, 16, 10], "timesteps": 8, "samples": 1}},
    "grid": {"preset": ["loihi"], "algo": ["random"], "seed": [0, 1]},
}


def untimed(front):
    return [{k: v for k, v in d.items() if k not in ("sim_wall_s", "t_s")} for d in front]


def rows(out):
    with sqlite3.connect(f"file:{out / 'run.sqlite'}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT name, attempt FROM steps ORDER BY name").fetchall()


def test_a_result_is_committed_once_per_task_key(tmp_path):
    prepared = prepare(parse_spec(SPEC))
    store = start_sweep(tmp_path / "out", prepared)
    task = prepared.spec.tasks()[0]
    payload = run_task({**task.to_dict(), "key": task.key}, prepared.task_settings(task), prepared.workloads["mlp"])
    assert payload["key"] == "mlp/none/loihi/random/seed=0"
    assert payload["search"]["simulated"] >= 4 and payload["front"]
    assert commit_result(store, payload) is True
    assert commit_result(store, dict(payload, task_wall_s=0.0)) is False  # a duplicate: dropped
    store.close("interrupted")
    assert rows(tmp_path / "out") == [("mlp/none/loihi/random/seed=0", 1)]
    # The same task run again gives the same search (deterministic for its seed).
    again = run_task({**task.to_dict(), "key": task.key}, prepared.task_settings(task), prepared.workloads["mlp"])
    assert again["search"]["best_edp_js"] == payload["search"]["best_edp_js"]
    assert untimed(again["front"]) == untimed(payload["front"])


def test_resume_refuses_another_sweep_and_changes_nothing(tmp_path, capsys):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "out"
    start_sweep(out, prepare(parse_spec(SPEC, where=str(spec_file)))).close("interrupted")
    before = (out / "run.sqlite").read_bytes()
    spec_file.write_text(yaml.safe_dump({**SPEC, "budget": 8}))
    assert main(["sweep", str(spec_file), "--out", str(out), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "budget: the sweep has 4, the file has 8" in err
    assert (out / "run.sqlite").read_bytes() == before
    # Starting again in the same folder is refused too, with the command that continues it.
    assert main(["sweep", str(spec_file), "--out", str(out), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    # Execution settings may change on a resume.
    store = resume_sweep(out, prepare(parse_spec({**SPEC, "max_retries": 5})))
    assert store.attempt == 2
    store.close("interrupted")


def test_bad_files_exit_2_naming_the_key(tmp_path, capsys):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump({**SPEC, "grid": {"algo": ["rl", "ppo"], "seed": [0]}}))
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "out")]) == 2
    assert f"{spec_file}: grid.algo[1]: unknown algorithm 'ppo'" in capsys.readouterr().err
    # A design space in which no design holds the network: named before anything is written.
    spec_file.write_text(yaml.safe_dump({**SPEC, "ranges": {"mesh_width": "1", "mesh_height": "1",
                                                            "cores_per_tile": "1", "neurons_per_core": "8"}}))
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "out")]) == 2
    assert "workloads.mlp: no design in the given ranges can hold the network" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "out"), "--num-cpus", "1", "--address",
                 "auto"]) == 2


def test_an_address_where_no_cluster_answers_fails_fast_and_writes_nothing(tmp_path, capsys):
    import socket

    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    out = tmp_path / "out"
    assert main(["sweep", str(spec_file), "--out", str(out), "--address", f"127.0.0.1:{port}", "--no-progress"]) == 1
    assert f"no Ray cluster answers at --address 127.0.0.1:{port}" in capsys.readouterr().err
    assert not out.exists()
    assert main(["sweep", str(spec_file), "--out", str(out), "--address", "head-without-port"]) == 2
    assert "expected auto or HOST:PORT" in capsys.readouterr().err
