"""The run store: one embedded SQLite file per run folder (`FOLDER/run.sqlite`).

Explorations, searches and sweeps commit every finished step to it as it completes (one
transaction each), so an interrupted run resumes without redoing or losing a finished step.
It depends on the Python standard library only; the schema is documented in docs/run-store.md.

    store = RunStore.create(folder, kind="exploration", settings={...}, fingerprint="...", seed=0)
    store = RunStore.resume(folder, kind="exploration")      # NoRun, RunLocked, StoreCorrupt
    store.begin_attempt()
    with store.transaction("search") as tx:                  # one finished step
        tx.put_simulation(...)
"""

from runstore.files import sha256_bytes, sha256_file, write_file_atomic
from runstore.store import (
    LOCK_NAME,
    SCHEMA_VERSION,
    STORE_NAME,
    NoRun,
    RunExists,
    RunInfo,
    RunLocked,
    RunStore,
    RunStoreError,
    SettingsDiffer,
    StoreCorrupt,
    inspect_store,
    settings_diff,
)

__all__ = [
    "LOCK_NAME", "SCHEMA_VERSION", "STORE_NAME", "NoRun", "RunExists", "RunInfo", "RunLocked",
    "RunStore", "RunStoreError", "SettingsDiffer", "StoreCorrupt", "inspect_store", "settings_diff",
    "sha256_bytes", "sha256_file", "write_file_atomic",
]
