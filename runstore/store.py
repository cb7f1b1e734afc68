"""`RunStore`: the SQLite file of one run folder, its lock, and the checks before a resume.

Durability: WAL journal, ``synchronous=NORMAL`` (a committed transaction survives the process
being killed, Ctrl-C or a crash of the program; after a power loss the last transactions may be
rolled back, never half applied). Each finished step is one transaction.

Exclusivity: a process that writes a run holds an exclusive `fcntl.flock` on `FOLDER/run.lock`
for as long as it runs (the kernel drops it when the process dies, even by SIGKILL). A second
process gets `RunLocked` naming the holder, before it reads or writes anything.

Checks before a resume (`RunStore.resume`), none of which changes a file of the run: the store
exists (`NoRun`), no process holds the lock (`RunLocked`), and a private copy of the store
(database and write-ahead log) opens, passes SQLite's ``quick_check`` and holds a run of the
expected kind and a known schema version (`StoreCorrupt` names the file otherwise; the file is
never repaired, replaced or deleted).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

SCHEMA_VERSION = 1
STORE_NAME = "run.sqlite"
LOCK_NAME = "run.lock"
_MAGIC = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- exploration | search | sweep | ...
    state TEXT NOT NULL,           -- running | interrupted | cancelled | failed | succeeded
    settings TEXT NOT NULL,        -- JSON: everything that decides the result
    fingerprint TEXT NOT NULL,     -- SHA-256 of the canonical settings JSON
    seed INTEGER,
    versions TEXT NOT NULL,        -- JSON: package versions, policy file hash, ...
    git_commit TEXT,
    created_at REAL NOT NULL,      -- Unix time
    updated_at REAL NOT NULL,
    result TEXT,                   -- JSON summary once the run ended
    error TEXT
);
CREATE TABLE attempts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    attempt INTEGER NOT NULL,      -- 1 for the first process, +1 per resume
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    state TEXT NOT NULL,           -- running | interrupted | cancelled | failed | succeeded
    PRIMARY KEY (run_id, attempt)
);
CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    name TEXT NOT NULL,            -- e.g. supernet, candidate/c1, search/c1, onchip/c1
    phase TEXT NOT NULL,
    attempt INTEGER NOT NULL,      -- the attempt that finished it
    finished_at REAL NOT NULL,
    wall_s REAL NOT NULL,          -- time since the previous commit of the run
    cpu_s REAL NOT NULL,
    payload TEXT NOT NULL,         -- JSON result of the step
    PRIMARY KEY (run_id, name)
);
CREATE TABLE simulations (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    workload TEXT NOT NULL,        -- SHA-256 of the network and its input spikes
    design TEXT NOT NULL,          -- canonical JSON of the architecture
    semantics TEXT NOT NULL,
    preset TEXT NOT NULL,
    seq INTEGER NOT NULL,          -- order of simulation within the run
    phase TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    created_at REAL NOT NULL,
    n_samples INTEGER NOT NULL,
    energy_j REAL,                 -- means over the samples
    latency_s REAL,
    edp_js REAL,
    area_mm2 REAL,
    wall_s REAL NOT NULL,
    cpu_s REAL NOT NULL,
    result BLOB NOT NULL,          -- the whole result, encoded by the caller
    PRIMARY KEY (run_id, workload, design, semantics, preset)
);
CREATE TABLE trainings (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    job TEXT NOT NULL,             -- e.g. supernet, qat/c1
    phase TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    checkpoint TEXT NOT NULL,      -- path relative to the run folder
    sha256 TEXT NOT NULL,
    metrics TEXT NOT NULL,         -- JSON
    finished_at REAL NOT NULL,
    wall_s REAL NOT NULL,
    cpu_s REAL NOT NULL,
    PRIMARY KEY (run_id, job)
);
CREATE TABLE training_checkpoints (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    job TEXT NOT NULL,
    from_step INTEGER NOT NULL,    -- the segment (from_step, step] was trained by `attempt`
    step INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    checkpoint TEXT NOT NULL,      -- the job's latest partial checkpoint file
    sha256 TEXT NOT NULL,
    saved_at REAL NOT NULL,
    wall_s REAL NOT NULL,
    cpu_s REAL NOT NULL,
    PRIMARY KEY (run_id, job, step)
);
CREATE TABLE phase_times (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    phase TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    wall_s REAL NOT NULL,          -- committed work only (time after the last commit of a
    cpu_s REAL NOT NULL,           -- killed attempt is not counted)
    PRIMARY KEY (run_id, phase, attempt)
);
CREATE TABLE front (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    position INTEGER NOT NULL,
    point TEXT NOT NULL,           -- JSON
    PRIMARY KEY (run_id, position)
);
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    time REAL NOT NULL,
    level TEXT NOT NULL,           -- info | warning | error
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""

TABLES = ("meta", "runs", "attempts", "steps", "simulations", "trainings", "training_checkpoints",
          "phase_times", "front", "events")


class RunStoreError(ValueError):
    """A run folder that cannot be used as asked (exit status 2 on the command line)."""


class NoRun(RunStoreError):
    pass


class RunExists(RunStoreError):
    pass


class RunLocked(RunStoreError):
    pass


class StoreCorrupt(RunStoreError):
    pass


class SettingsDiffer(RunStoreError):
    def __init__(self, message: str, differences: list):
        super().__init__(message)
        self.differences = differences


def _json(x: Any) -> str:
    return json.dumps(x, sort_keys=True, allow_nan=False)


def settings_diff(stored: dict, given: dict) -> list[tuple[str, Any, Any]]:
    """(name, stored value, given value) for every key of `given` whose value differs."""
    out = []
    for k in sorted(given):
        if _json(stored.get(k)) != _json(given[k]):
            out.append((k, stored.get(k), given[k]))
    return out


@dataclass(frozen=True)
class RunInfo:
    """What a store says about its run, read from a private copy."""

    path: Path
    schema_version: int
    run_id: str
    kind: str
    state: str
    settings: dict
    fingerprint: str
    seed: Optional[int]
    versions: dict
    git_commit: Optional[str]
    created_at: float
    attempts: int


def _corrupt(path: Path, why: str) -> StoreCorrupt:
    return StoreCorrupt(
        f"{path} is not a readable run store ({why}); it was left as it is: move it away or choose "
        "another folder to start a new run")


def inspect_store(path: os.PathLike, kind: Optional[str] = None,
                  check: Optional[Callable[[sqlite3.Connection, str], None]] = None) -> RunInfo:
    """Validate the store at `path` on a private copy (database + WAL) and return its run.

    Nothing of the run folder is written: SQLite's recovery of a write-ahead log left by a killed
    process happens in the copy. `check(connection, run_id)` may run further checks of the
    caller's on the copy (raising to refuse).
    """
    path = Path(path)
    if not path.is_file():
        raise NoRun(f"{path.parent} holds no run (no {path.name})")
    with open(path, "rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or head[:16] != _MAGIC:
        raise _corrupt(path, "not an SQLite database" if head else "empty file")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages, valid_for, changes = (int.from_bytes(head[a:a + 4], "big") for a in (28, 92, 24))
    size = path.stat().st_size
    if pages and valid_for == changes and size < pages * page_size:
        raise _corrupt(path, f"truncated: {size} bytes, the header says {pages * page_size}")
    with tempfile.TemporaryDirectory(prefix="runstore-check-") as tmp:
        copy = Path(tmp) / STORE_NAME
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        try:
            conn = sqlite3.connect(copy)
            try:
                quick = conn.execute("PRAGMA quick_check").fetchall()
                if quick != [("ok",)]:
                    raise _corrupt(path, "; ".join(str(r[0]) for r in quick[:3]))
                names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                missing = [t for t in TABLES if t not in names]
                if missing:
                    raise _corrupt(path, f"tables missing: {', '.join(missing)}")
                meta = dict(conn.execute("SELECT key, value FROM meta"))
                version = int(meta.get("schema_version", "0"))
                if version > SCHEMA_VERSION:
                    raise RunStoreError(f"{path} has run-store schema version {version}; this ANCoEF reads "
                                        f"version {SCHEMA_VERSION} and older: resume it with a newer ANCoEF")
                rows = conn.execute(
                    "SELECT run_id, kind, state, settings, fingerprint, seed, versions, git_commit, created_at "
                    "FROM runs ORDER BY created_at").fetchall()
                if not rows:
                    raise _corrupt(path, "no run recorded")
                run_id, rkind, state, settings, fp, seed, versions, commit, created = rows[0]
                n_att = conn.execute("SELECT COUNT(*) FROM attempts WHERE run_id=?", (run_id,)).fetchone()[0]
                if kind is not None and rkind != kind:
                    raise RunStoreError(f"{path} holds a run of kind {rkind!r}, not {kind!r}")
                if check is not None:
                    check(conn, run_id)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise _corrupt(path, str(exc)) from None
    return RunInfo(path, version, run_id, rkind, state, json.loads(settings), fp, seed, json.loads(versions),
                   commit, created, n_att)


class RunLock:
    """An exclusive `flock` on FOLDER/run.lock, held while a process works on the run."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self.fd: Optional[int] = None

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            finally:
                os.close(fd)
            raise RunLocked(f"{self.path.parent} is in use by {holder}: wait for it to finish or stop it "
                            "(one process per run folder)") from None
        self.fd = fd
        return self

    def write_holder(self) -> None:
        text = f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text.encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None


@dataclass
class _Clock:
    wall: float = field(default_factory=time.perf_counter)
    cpu: float = field(default_factory=time.process_time)

    def lap(self) -> tuple[float, float]:
        w, c = time.perf_counter(), time.process_time()
        out = (w - self.wall, c - self.cpu)
        self.wall, self.cpu = w, c
        return out


class RunStore:
    """One run's store. Create it (`create`) or reopen it (`resume`), then `begin_attempt()`."""

    def __init__(self, folder: Path, lock: RunLock, info: Optional[RunInfo] = None):
        self.folder = Path(folder)
        self.path = self.folder / STORE_NAME
        self._lock = lock
        self.info = info
        self.conn: Optional[sqlite3.Connection] = None
        self.attempt = 0
        self.run_id = info.run_id if info else ""
        self._mutex = threading.RLock()
        self._clock = _Clock()
        self._seq_sim = 0
        self._seq_event = 0

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: os.PathLike, *, kind: str, settings: dict, fingerprint: str,
               seed: Optional[int] = None, versions: Optional[dict] = None,
               git_commit: Optional[str] = None) -> "RunStore":
        """A new run in `folder` (created if needed); `RunExists` if it already holds one."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise RunStoreError(f"{folder} exists and is not a folder")
        if (folder / STORE_NAME).exists():
            raise RunExists(f"{folder} already holds a run ({STORE_NAME})")
        folder.mkdir(parents=True, exist_ok=True)
        lock = RunLock(folder).acquire()
        try:
            if (folder / STORE_NAME).exists():  # created meanwhile by another process
                raise RunExists(f"{folder} already holds a run ({STORE_NAME})")
            store = cls(folder, lock)
            store._connect()
            now = time.time()
            store.run_id = uuid.uuid4().hex
            with store._tx():
                for stmt in SCHEMA.split(";"):
                    if stmt.strip():
                        store.conn.execute(stmt)
                store.conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("schema_version", str(SCHEMA_VERSION)), ("created_by", "ancoef runstore"),
                    ("created_at", repr(now))])
                store.conn.execute(
                    "INSERT INTO runs VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                    (store.run_id, kind, _json(settings), fingerprint, seed, _json(versions or {}),
                     git_commit, now, now))
            store.info = RunInfo(store.path, SCHEMA_VERSION, store.run_id, kind, "running", dict(settings),
                                 fingerprint, seed, dict(versions or {}), git_commit, now, 0)
            return store
        except BaseException:
            lock.release()
            raise

    @classmethod
    def resume(cls, folder: os.PathLike, *, kind: str,
               check: Optional[Callable[[sqlite3.Connection, str], None]] = None) -> "RunStore":
        """The run in `folder`, checked and locked but not yet written (see the module docstring);
        `check` as in `inspect_store`."""
        folder = Path(folder)
        path = folder / STORE_NAME
        if not folder.is_dir():
            raise NoRun(f"{folder} is not a folder holding a run")
        if not path.exists():
            raise NoRun(f"{folder} holds no run (no {STORE_NAME})")
        lock = RunLock(folder).acquire()
        try:
            info = inspect_store(path, kind, check)
        except BaseException:
            lock.release()
            raise
        return cls(folder, lock, info)

    def _connect(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")

    def begin_attempt(self) -> int:
        """Start writing: a new attempt row (1 for a new run), the lock file names this process."""
        if self.conn is None:
            self._connect()
        self._lock.write_holder()
        with self._tx():
            n = self.conn.execute("SELECT COALESCE(MAX(attempt), 0) FROM attempts WHERE run_id=?",
                                  (self.run_id,)).fetchone()[0]
            self.attempt = n + 1
            now = time.time()
            self.conn.execute("UPDATE attempts SET state='interrupted', ended_at=COALESCE(ended_at, ?) "
                              "WHERE run_id=? AND state='running'", (now, self.run_id))
            self.conn.execute("INSERT INTO attempts VALUES (?, ?, ?, ?, ?, NULL, 'running')",
                              (self.run_id, self.attempt, os.getpid(), socket.gethostname(), now))
            self.conn.execute("UPDATE runs SET state='running', updated_at=? WHERE run_id=?", (now, self.run_id))
        self._seq_sim = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM simulations WHERE run_id=?",
                                          (self.run_id,)).fetchone()[0]
        self._seq_event = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?",
                                            (self.run_id,)).fetchone()[0]
        self._clock = _Clock()
        return self.attempt

    def release(self) -> None:
        """Drop the lock without writing (a refused resume)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self._lock.release()

    def close(self, state: str, result: Optional[dict] = None, error: Optional[str] = None) -> None:
        """End this attempt with `state`; the store is checkpointed into one file and unlocked."""
        if self.conn is not None:
            now = time.time()
            with self._tx():
                self.conn.execute("UPDATE attempts SET state=?, ended_at=? WHERE run_id=? AND attempt=?",
                                  (state, now, self.run_id, self.attempt))
                self.conn.execute(
                    "UPDATE runs SET state=?, updated_at=?, result=COALESCE(?, result), error=? WHERE run_id=?",
                    (state, now, None if result is None else _json(result), error, self.run_id))
            with contextlib.suppress(sqlite3.DatabaseError):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.release()

    # -- transactions -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        with self._mutex:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self, phase: str, extra_wall_s: float = 0.0, extra_cpu_s: float = 0.0) -> Iterator["Transaction"]:
        """One finished step: everything written through the yielded object commits together, with
        the wall and CPU time since the previous commit (plus `extra_*`: work done before the
        attempt began) added to `phase`."""
        with self._mutex:
            wall, cpu = self._clock.lap()
            wall, cpu = wall + extra_wall_s, cpu + extra_cpu_s
            tx = Transaction(self, phase, wall, cpu)
            with self._tx():
                yield tx
                self.conn.execute(
                    "INSERT INTO phase_times VALUES (?, ?, ?, ?, ?) ON CONFLICT(run_id, phase, attempt) DO UPDATE "
                    "SET wall_s = wall_s + excluded.wall_s, cpu_s = cpu_s + excluded.cpu_s",
                    (self.run_id, phase, self.attempt, wall, cpu))
                self.conn.execute("UPDATE runs SET updated_at=? WHERE run_id=?", (time.time(), self.run_id))

    # -- reads ------------------------------------------------------------------------------------
    def _one(self, sql: str, args: tuple):
        with self._mutex:
            return self.conn.execute(sql, args).fetchone()

    def step(self, name: str) -> Optional[dict]:
        row = self._one("SELECT payload FROM steps WHERE run_id=? AND name=?", (self.run_id, name))
        return None if row is None else json.loads(row[0])

    def simulation(self, workload: str, design: str, semantics: str, preset: str) -> Optional[bytes]:
        row = self._one("SELECT result FROM simulations WHERE run_id=? AND workload=? AND design=? AND "
                        "semantics=? AND preset=?", (self.run_id, workload, design, semantics, preset))
        return None if row is None else bytes(row[0])

    def training(self, job: str) -> Optional[dict]:
        row = self._one("SELECT steps, checkpoint, sha256, metrics, wall_s, cpu_s, phase, attempt FROM trainings "
                        "WHERE run_id=? AND job=?", (self.run_id, job))
        if row is None:
            return None
        return {"steps": row[0], "checkpoint": row[1], "sha256": row[2], "metrics": json.loads(row[3]),
                "wall_s": row[4], "cpu_s": row[5], "phase": row[6], "attempt": row[7]}

    def simulation_meta(self, workload: str, design: str, semantics: str, preset: str) -> Optional[dict]:
        """Where and at what cost a stored simulation was run (phase, attempt, seq, wall_s, cpu_s)."""
        row = self._one("SELECT phase, attempt, seq, wall_s, cpu_s FROM simulations WHERE run_id=? AND workload=? "
                        "AND design=? AND semantics=? AND preset=?", (self.run_id, workload, design, semantics, preset))
        return None if row is None else dict(zip(("phase", "attempt", "seq", "wall_s", "cpu_s"), row))

    def latest_checkpoint(self, job: str) -> Optional[dict]:
        row = self._one("SELECT step, checkpoint, sha256 FROM training_checkpoints WHERE run_id=? AND job=? "
                        "ORDER BY step DESC LIMIT 1", (self.run_id, job))
        return None if row is None else {"step": row[0], "checkpoint": row[1], "sha256": row[2]}

    def job_time(self, job: str) -> tuple[float, float]:
        """Committed wall and CPU seconds of a training job (its checkpoints and its end)."""
        with self._mutex:
            a = self.conn.execute("SELECT COALESCE(SUM(wall_s), 0), COALESCE(SUM(cpu_s), 0) FROM "
                                  "training_checkpoints WHERE run_id=? AND job=?", (self.run_id, job)).fetchone()
            b = self.conn.execute("SELECT COALESCE(SUM(wall_s), 0), COALESCE(SUM(cpu_s), 0) FROM trainings "
                                  "WHERE run_id=? AND job=?", (self.run_id, job)).fetchone()
        return a[0] + b[0], a[1] + b[1]

    def phase_times(self) -> dict[str, dict]:
        """{phase: {"wall_s", "cpu_s", "attempts"}} summed over attempts (committed work)."""
        with self._mutex:
            rows = self.conn.execute("SELECT phase, SUM(wall_s), SUM(cpu_s), COUNT(*) FROM phase_times "
                                     "WHERE run_id=? GROUP BY phase", (self.run_id,)).fetchall()
        return {p: {"wall_s": w, "cpu_s": c, "attempts": n} for p, w, c, n in rows}

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        return self._one(f"SELECT COUNT(*) FROM {table} WHERE run_id=?", (self.run_id,))[0]


class Transaction:
    """Writes of one finished step (see `RunStore.transaction`)."""

    def __init__(self, store: RunStore, phase: str, wall_s: float, cpu_s: float):
        self.store, self.phase, self.wall_s, self.cpu_s = store, phase, wall_s, cpu_s
        self.conn = store.conn

    def put_step(self, name: str, payload: dict) -> None:
        s = self.store
        self.conn.execute("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (s.run_id, name, self.phase, s.attempt, time.time(), self.wall_s, self.cpu_s,
                           _json(payload)))

    def put_simulation(self, workload: str, design: str, semantics: str, preset: str, *, n_samples: int,
                       figures: dict, result: bytes) -> int:
        s = self.store
        s._seq_sim += 1
        self.conn.execute(
            "INSERT INTO simulations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.run_id, workload, design, semantics, preset, s._seq_sim, self.phase, s.attempt, time.time(),
             n_samples, figures.get("energy_j"), figures.get("latency_s"), figures.get("edp_js"),
             figures.get("area_mm2"), self.wall_s, self.cpu_s, sqlite3.Binary(result)))
        return s._seq_sim

    def put_training(self, job: str, *, steps: int, checkpoint: str, sha256: str, metrics: dict) -> None:
        s = self.store
        self.conn.execute("INSERT INTO trainings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (s.run_id, job, self.phase, s.attempt, steps, checkpoint, sha256, _json(metrics),
                           time.time(), self.wall_s, self.cpu_s))

    def put_training_checkpoint(self, job: str, *, from_step: int, step: int, checkpoint: str,
                                sha256: str) -> None:
        s = self.store
        self.conn.execute("INSERT INTO training_checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (s.run_id, job, from_step, step, s.attempt, checkpoint, sha256, time.time(),
                           self.wall_s, self.cpu_s))

    def set_front(self, points: list) -> None:
        s = self.store
        self.conn.execute("DELETE FROM front WHERE run_id=?", (s.run_id,))
        self.conn.executemany("INSERT INTO front VALUES (?, ?, ?)",
                              [(s.run_id, i, _json(p)) for i, p in enumerate(points)])

    def log(self, level: str, message: str) -> None:
        s = self.store
        s._seq_event += 1
        self.conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                          (s.run_id, s._seq_event, s.attempt, time.time(), level, message))
