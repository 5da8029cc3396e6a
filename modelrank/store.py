"""The results database: every score, Betti array, evaluation and rank correlation, with its recipe.

One SQLite file (stdlib :mod:`sqlite3`) in WAL mode. Every public write runs in one
``BEGIN IMMEDIATE`` transaction, so a failure (or a killed process) part-way leaves nothing behind,
and concurrent writers from several processes queue on SQLite's lock (busy timeout
:data:`BUSY_TIMEOUT_S`) instead of corrupting the file or losing rows.

Where the file lives: the ``path`` argument, else ``$MODELRANK_DB``, else
``platformdirs.user_data_dir("modelrank")/results.sqlite``.

Schema (version :data:`SCHEMA_VERSION`; ``schema_version`` holds it, :func:`migrate` upgrades)::

    schema_version(version)                                  one row
    runs(id, created_at, command, kind, dataset, split, per_class, seed, primary_metric, recipe_json)
    run_models(run_id, model, dataset, rank, info_json, layers_json, omega_json, arrays_sha256)
    scores(id, run_id, model, metric, dataset, raw, score, unavailable)
    arrays(sha256, npz, nbytes)                              content-addressed blobs
    evaluations(id, run_id, model, dataset, protocol, hparams_json, accuracy, accuracy_kind,
                split, extra_json)
    correlations(id, run_id, suite, ground_truth, dataset, score, n, weighted_tau, tau_low,
                 tau_high, kendall_tau, spearman,
                 pearson, rel_at_1, rel_at_3)
    tau_summaries(id, run_id, suite, ground_truth, score, n_datasets, mean_tau, tau_low,
                  tau_high, verdict, baseline, baseline_tau)

Betti arrays are stored *inside* the database, as ``.npz`` bytes in ``arrays`` keyed by the
SHA-256 of their contents (names, dtypes, shapes and bytes), and referenced from ``run_models``.
Keeping them in the file makes a write one transaction (no orphan side files after a crash), keeps
the database movable as one file, and stores an array set that several runs share only once.

"Latest" below means the row written last (highest id; ids follow commit order because writers
are serialised by the lock).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import json
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from modelrank.errors import ConfigError
from modelrank.util.jsonable import jsonable
from modelrank.util.writable import can_create_under, existing_ancestor

SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 60.0
DB_ENV = "MODELRANK_DB"


def default_path() -> Path:
    """``$MODELRANK_DB`` if set, else ``<user data dir>/modelrank/results.sqlite``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("modelrank")) / "results.sqlite"


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """The database file a :class:`Store` opened with ``path`` would use."""
    return Path(path).expanduser() if path is not None else default_path()


# --------------------------------------------------------------------------- schema & migrations


def _migrate_0_to_1(conn: sqlite3.Connection) -> None:
    """Version 0 is an empty database (or one with no ``schema_version`` row); create v1."""
    _execute_all(
        conn,
        """
        CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            command TEXT NOT NULL,
            kind TEXT NOT NULL,
            dataset TEXT,
            split TEXT,
            per_class INTEGER,
            seed INTEGER,
            primary_metric TEXT,
            recipe_json TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS runs_recipe ON runs(dataset, split, per_class);
        CREATE TABLE IF NOT EXISTS arrays (
            sha256 TEXT PRIMARY KEY,
            npz BLOB NOT NULL,
            nbytes INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS run_models (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dataset TEXT,
            rank INTEGER,
            info_json TEXT NOT NULL,
            layers_json TEXT,
            omega_json TEXT,
            arrays_sha256 TEXT REFERENCES arrays(sha256),
            PRIMARY KEY (run_id, model)
        );
        CREATE INDEX IF NOT EXISTS run_models_md ON run_models(model, dataset);
        CREATE TABLE IF NOT EXISTS scores (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            metric TEXT NOT NULL,
            dataset TEXT,
            raw REAL,
            score REAL,
            unavailable TEXT
        );
        CREATE INDEX IF NOT EXISTS scores_key ON scores(dataset, metric, model);
        CREATE TABLE IF NOT EXISTS evaluations (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dataset TEXT NOT NULL,
            protocol TEXT NOT NULL,
            hparams_json TEXT NOT NULL,
            accuracy REAL NOT NULL,
            accuracy_kind TEXT NOT NULL,
            split TEXT NOT NULL,
            extra_json TEXT
        );
        CREATE INDEX IF NOT EXISTS evaluations_key ON evaluations(dataset, protocol, model);
        CREATE TABLE IF NOT EXISTS correlations (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            suite TEXT NOT NULL,
            dataset TEXT NOT NULL,
            score TEXT NOT NULL,
            n INTEGER,
            weighted_tau REAL,
            kendall_tau REAL,
            spearman REAL,
            pearson REAL,
            rel_at_1 REAL,
            rel_at_3 REAL
        );
        CREATE INDEX IF NOT EXISTS correlations_key ON correlations(suite, dataset, score);
    """,
    )


def _execute_all(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL statements one by one (``executescript`` would COMMIT the open
    transaction first, breaking the all-or-nothing migration)."""
    for stmt in script.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """v2: a correlation names the ground truth it is against ("headline" for the rows of v1)
    and may carry a 95 % interval of its weighted tau."""
    _execute_all(
        conn,
        """
        ALTER TABLE correlations ADD COLUMN ground_truth TEXT NOT NULL DEFAULT 'headline';
        ALTER TABLE correlations ADD COLUMN tau_low REAL;
        ALTER TABLE correlations ADD COLUMN tau_high REAL;
        DROP INDEX IF EXISTS correlations_key;
        CREATE INDEX IF NOT EXISTS correlations_key
            ON correlations(suite, ground_truth, dataset, score)
    """,
    )


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """v3: a benchmark's mean weighted tau per score and ground truth, with its 95 % interval and
    the verdict against the best static baseline (recomputing them needs the half-sample
    replicates, which the database does not hold)."""
    _execute_all(
        conn,
        """
        CREATE TABLE IF NOT EXISTS tau_summaries (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            suite TEXT NOT NULL,
            ground_truth TEXT NOT NULL,
            score TEXT NOT NULL,
            n_datasets INTEGER,
            mean_tau REAL,
            tau_low REAL,
            tau_high REAL,
            verdict TEXT,
            baseline TEXT,
            baseline_tau REAL
        );
        CREATE INDEX IF NOT EXISTS tau_summaries_key
            ON tau_summaries(suite, ground_truth, score)
    """,
    )


#: ``MIGRATIONS[v]`` upgrades a database at version ``v`` to ``v + 1`` (inside one transaction).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: _migrate_0_to_1,
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
}


def schema_version(conn: sqlite3.Connection) -> int:
    """The stored schema version; 0 for a database without a ``schema_version`` row."""
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if not has:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring ``conn``'s database up to ``target`` in one transaction; return the old version.

    Runs each step of :data:`MIGRATIONS` in order; an error rolls every step back. A database
    newer than this modelrank raises :class:`ConfigError`.
    """
    with _transaction(conn):
        old = schema_version(conn)
        if old > target:
            raise ConfigError(
                f"the results database has schema version {old}, newer than this "
                f"modelrank understands ({target}); upgrade modelrank"
            )
        for v in range(old, target):
            step = MIGRATIONS.get(v)
            if step is None:
                raise ConfigError(f"no migration of the results database from version {v}")
            step(conn)
        if old != target:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version(version) VALUES (?)", (target,))
    return old


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` on any exception (re-raised)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise ConfigError(
                f"the results database stayed locked by another process for "
                f"{BUSY_TIMEOUT_S:g} s; try again when it has finished"
            ) from None
        raise
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            conn.execute("ROLLBACK")
        if _disk_full(exc):
            raise ConfigError(
                f"no space left on the device of the results database "
                f"({_db_path(conn)}); nothing of this write was stored"
            ) from None
        raise


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, (sqlite3.Error, OSError)) and (
        "disk is full" in str(exc)
        or "No space left" in str(exc)
        or getattr(exc, "errno", None) == 28
    )


def _db_path(conn: sqlite3.Connection) -> str:
    try:
        return conn.execute("PRAGMA database_list").fetchone()[2]
    except sqlite3.Error:
        return "?"


# --------------------------------------------------------------------------- value helpers


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=jsonable)


def _real(value: Any, what: str) -> float | None:
    """A float for a REAL column; None for missing / non-finite values."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}") from None
    return f if math.isfinite(f) else None


def _rank(row: Mapping[str, Any], position: int) -> int | None:
    """The rank column of a ranked row: its own rank (None, stored as NULL, for a backbone the
    primary score left unranked); its position for a row written before rows had ranks."""
    if "rank" not in row:
        return position
    rank = row["rank"]
    if rank is None:
        return None
    try:
        return int(rank)
    except (TypeError, ValueError):
        raise ConfigError(
            f"the rank of {row.get('model')!r} must be a whole number, got {rank!r}"
        ) from None


def _opt_str(value: Any) -> str | None:
    """A str for a TEXT column; None when missing."""
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    """An int for an INTEGER column; None when missing or not a whole number (e.g. "all")."""
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _recipe_columns(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """dataset / split / per_class / seed from a flat recipe or a Ranking recipe (``recipe["data"]``)."""
    data = recipe.get("data") if isinstance(recipe.get("data"), Mapping) else {}

    def pick(key: str) -> Any:
        return recipe[key] if recipe.get(key) is not None else data.get(key)

    per_class = pick("per_class")
    seed = pick("seed")
    ds = pick("dataset")
    return {
        "dataset": _opt_str(ds),
        "split": pick("split"),
        "per_class": _opt_int(per_class),
        "seed": _opt_int(seed),
    }


def pack_arrays(arrays: Mapping[str, Any]) -> tuple[str, bytes]:
    """(sha256 hex of the contents, ``.npz`` bytes) of named arrays.

    The hash covers each name, dtype, shape and C-order bytes (sorted by name), so the same arrays
    always get the same key whatever the zip container's metadata.
    """
    h = hashlib.sha256()
    named = {str(k): np.ascontiguousarray(np.asarray(v)) for k, v in arrays.items()}
    for k in sorted(named):
        a = named[k]
        if a.dtype == object:
            raise ConfigError(f"topology array {k!r} is not numeric")
        h.update(f"{k}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    buf = io.BytesIO()
    np.savez_compressed(buf, **named)
    return h.hexdigest(), buf.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    """Inverse of :func:`pack_arrays` (the arrays only)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# --------------------------------------------------------------------------- the store


def check_writable(path: str | os.PathLike | None = None) -> Path:
    """The database path, after checking that results can be written there (before any work).

    Raises ConfigError when the file (or, for a new file, its directory) is not writable, or
    when an existing file is not a usable results database."""
    p = resolve_path(path)
    if p.exists():
        if p.is_dir():
            raise ConfigError(f"results database {str(p)!r} is a directory; pass --db FILE")
        if not os.access(p, os.W_OK) or not os.access(p.parent, os.W_OK | os.X_OK):
            raise ConfigError(
                f"results database {str(p)!r} is read-only here; pass --db with a writable path"
            )
    else:
        parent = existing_ancestor(p)
        if not can_create_under(parent):
            raise ConfigError(
                f"results database {str(p)!r} cannot be created: {str(parent)!r} "
                "is not a writable directory; pass --db with a writable path"
            )
    with Store(p):
        pass
    return p


class Store:
    """The results database (see the module docstring for the schema).

    Args:
        path: database file; default ``$MODELRANK_DB``, else the user data dir.
        create: when False, a missing file raises :class:`ConfigError` instead of being created.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, path: str | os.PathLike | None = None, *, create: bool = True, read_only: bool = False
    ):
        self.path = resolve_path(path)
        self.read_only = read_only
        if not self.path.exists():
            if not create or read_only:
                raise ConfigError(
                    f"no results database at {self.path}; run `modelrank score` "
                    "first or pass --db PATH"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"results database {str(self.path)!r} cannot be created: "
                    f"{exc.strerror or exc}; pass --db (or set MODELRANK_DB) with a "
                    "writable path"
                ) from None
        try:
            if read_only:
                # A directory we cannot write holds no -wal/-shm files for us: read the file
                # as it is (immutable), which needs neither.
                flags = "mode=ro" + ("" if os.access(self.path.parent, os.W_OK) else "&immutable=1")
                self._conn = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?{flags}",
                    uri=True,
                    timeout=BUSY_TIMEOUT_S,
                    isolation_level=None,
                )
            else:
                self._conn = sqlite3.connect(
                    str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None
                )
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the results database {self.path}: {exc}") from None
        try:
            self._check_intact()
            if read_only:
                if schema_version(self._conn) != SCHEMA_VERSION:
                    raise ConfigError(
                        f"{self.path} has schema version "
                        f"{schema_version(self._conn)}; open it once with "
                        "`modelrank score` to upgrade it"
                    )
            else:
                self._setup()
        except ConfigError:
            self._conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if _disk_full(exc):
                raise ConfigError(
                    f"no space left on the device of the results database {self.path}"
                ) from None
            raise ConfigError(
                f"{self.path} is not a usable modelrank results database ({exc})"
            ) from None
        except BaseException:
            self._conn.close()
            raise

    def _check_intact(self) -> None:
        """Refuse a damaged file (SQLite's quick_check) before anything reads or writes it."""
        try:
            rows = self._conn.execute("PRAGMA quick_check(1)").fetchall()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"{self.path} is not a usable modelrank results database ({exc}); "
                "move it away or pass --db with another path"
            ) from None
        if rows and rows[0][0] != "ok":
            raise ConfigError(
                f"{self.path} is damaged (SQLite quick_check: {rows[0][0]}); "
                "move it away or pass --db with another path"
            )

    def _setup(self) -> None:
        c = self._conn
        c.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # Switching to WAL needs a moment alone with the file; another process creating the
        # same database at the same instant may hold it, so retry for up to the busy timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"the results database {self.path} stayed locked by "
                        "another process; try again when it has finished"
                    ) from None
                time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"journal mode is {mode}, not wal")
        c.execute("PRAGMA synchronous = NORMAL")
        c.execute("PRAGMA foreign_keys = ON")
        if schema_version(c) != SCHEMA_VERSION:
            migrate(c)

    # -- lifecycle

    def close(self) -> None:
        """Close the connection (idempotent)."""
        conn, self._conn = getattr(self, "_conn", None), None
        if conn is not None:
            conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (raises after :meth:`close`)."""
        if self._conn is None:
            raise ConfigError("the results database is closed")
        return self._conn

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction on this store (rolled back on error)."""
        return _transaction(self.conn)

    @property
    def version(self) -> int:
        return schema_version(self.conn)

    # -- writes

    def record_run(self, command: str, recipe: dict) -> int:
        """Record what produced a set of results; return the run id.

        ``recipe``: versions, seed, dataset, split, per_class, image size, device, … (stored as
        JSON; dataset / split / per_class / seed also as indexed columns, read from the top level
        or from ``recipe["data"]`` as in a Ranking's recipe).
        """
        with self.transaction():
            return self._insert_run(command, "run", recipe, None)

    def _insert_run(
        self, command: str, kind: str, recipe: Mapping[str, Any], primary: str | None
    ) -> int:
        if not isinstance(recipe, Mapping):
            raise ConfigError(f"a run's recipe must be a dict, got {type(recipe).__name__}")
        cols = _recipe_columns(recipe)
        cur = self.conn.execute(
            "INSERT INTO runs(created_at, command, kind, dataset, split, per_class, seed, "
            "primary_metric, recipe_json) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                str(command),
                kind,
                cols["dataset"],
                cols["split"],
                cols["per_class"],
                cols["seed"],
                primary,
                _json(dict(recipe)),
            ),
        )
        return int(cur.lastrowid)

    def record_ranking(self, ranking_dict: dict, command: str) -> int:
        """Record a :meth:`Ranking.to_dict` result (or a Ranking) as one run; return the run id.

        Writes the run (recipe, primary metric), one ``run_models`` row per backbone (its info,
        topology layer names and Ω list, and its topology ``arrays`` as a content-addressed blob),
        and one ``scores`` row per backbone × metric (raw value, higher-is-better score, or the
        reason it is unavailable). All in one transaction.
        """
        if hasattr(ranking_dict, "to_dict"):  # a Ranking itself
            ranking_dict = ranking_dict.to_dict()
        recipe = ranking_dict.get("recipe")
        if not isinstance(recipe, Mapping):
            raise ConfigError("a ranking to store needs its recipe")
        dataset = _recipe_columns(recipe)["dataset"]
        with self.transaction() as c:
            run_id = self._insert_run(command, "ranking", recipe, ranking_dict.get("primary"))
            for i, row in enumerate(ranking_dict.get("ranking", []), 1):
                self._insert_ranked_model(c, run_id, dataset, i, row)
        return run_id

    def _insert_ranked_model(
        self,
        c: sqlite3.Connection,
        run_id: int,
        dataset: str | None,
        position: int,
        row: Mapping[str, Any],
    ) -> None:
        model = str(row["model"])
        topo = row.get("topology") or {}
        sha = None
        if topo.get("arrays"):
            sha, blob = pack_arrays(topo["arrays"])
            c.execute(
                "INSERT OR IGNORE INTO arrays(sha256, npz, nbytes) VALUES (?,?,?)",
                (sha, blob, len(blob)),
            )
        omega = topo.get("omega_cubical")
        layers = topo.get("layers")
        c.execute(
            "INSERT INTO run_models(run_id, model, dataset, rank, info_json, layers_json, "
            "omega_json, arrays_sha256) VALUES (?,?,?,?,?,?,?,?)",
            (
                run_id,
                model,
                dataset,
                _rank(row, position),
                _json(row.get("info") or {}),
                None if layers is None else _json(list(layers)),
                None if omega is None else _json([float(x) for x in omega]),
                sha,
            ),
        )
        scores, raw = row.get("scores") or {}, row.get("raw") or {}
        unavailable = row.get("unavailable") or {}
        for metric in sorted(set(scores) | set(raw) | set(unavailable)):
            c.execute(
                "INSERT INTO scores(run_id, model, metric, dataset, raw, score, unavailable) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    run_id,
                    model,
                    str(metric),
                    dataset,
                    _real(raw.get(metric), f"{model} {metric} raw"),
                    _real(scores.get(metric), f"{model} {metric} score"),
                    _opt_str(unavailable.get(metric)),
                ),
            )

    def record_evaluation(
        self,
        run_id: int,
        model: str,
        dataset: str,
        protocol: str,
        hparams: dict,
        accuracy: float,
        accuracy_kind: str,
        split: str,
        extra: dict | None = None,
    ) -> None:
        """One fine-tuning / linear-probe result: ``accuracy`` in percent (0–100) on ``split``."""
        acc = _real(accuracy, "accuracy")
        if acc is None or not 0.0 <= acc <= 100.0:
            raise ConfigError(f"accuracy must be a percentage in [0, 100], got {accuracy!r}")
        with self.transaction() as c:
            self._require_run(c, run_id)
            c.execute(
                "INSERT INTO evaluations(run_id, model, dataset, protocol, hparams_json, accuracy, "
                "accuracy_kind, split, extra_json) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    int(run_id),
                    str(model),
                    str(dataset),
                    str(protocol),
                    _json(hparams or {}),
                    acc,
                    str(accuracy_kind),
                    str(split),
                    None if extra is None else _json(extra),
                ),
            )

    def record_correlations(self, run_id: int, suite: str, rows: list[dict]) -> None:
        """Rank correlations of scores against accuracy; each row {dataset, score, n, weighted_tau,
        kendall_tau, spearman, pearson, rel_at_1, rel_at_3, and optionally ground_truth
        (default "headline"), tau_low, tau_high} (missing / non-finite → NULL)."""
        fields = (
            "weighted_tau",
            "tau_low",
            "tau_high",
            "kendall_tau",
            "spearman",
            "pearson",
            "rel_at_1",
            "rel_at_3",
        )
        with self.transaction() as c:
            self._require_run(c, run_id)
            for r in rows:
                if r.get("dataset") is None or r.get("score") is None:
                    raise ConfigError("a correlation row needs 'dataset' and 'score'")
                c.execute(
                    "INSERT INTO correlations(run_id, suite, ground_truth, dataset, score, n, "
                    + ", ".join(fields)
                    + ") VALUES ("
                    + ",".join("?" * (6 + len(fields)))
                    + ")",
                    (
                        int(run_id),
                        str(suite),
                        str(r.get("ground_truth") or "headline"),
                        str(r["dataset"]),
                        str(r["score"]),
                        _opt_int(r.get("n")),
                        *(_real(r.get(f), f) for f in fields),
                    ),
                )

    def record_tau_summaries(self, run_id: int, suite: str, rows: list[dict]) -> None:
        """Mean weighted tau per score and ground truth; each row {ground_truth, score,
        n_datasets, mean_tau, tau_low, tau_high, verdict, baseline, baseline_tau}
        (missing / non-finite numbers → NULL)."""
        reals, texts = ("mean_tau", "tau_low", "tau_high", "baseline_tau"), ("verdict", "baseline")
        with self.transaction() as c:
            self._require_run(c, run_id)
            for r in rows:
                if r.get("ground_truth") is None or r.get("score") is None:
                    raise ConfigError("a tau summary row needs 'ground_truth' and 'score'")
                c.execute(
                    "INSERT INTO tau_summaries(run_id, suite, ground_truth, score, n_datasets, "
                    + ", ".join(reals + texts)
                    + ") VALUES ("
                    + ",".join("?" * (5 + len(reals) + len(texts)))
                    + ")",
                    (
                        int(run_id),
                        str(suite),
                        str(r["ground_truth"]),
                        str(r["score"]),
                        _opt_int(r.get("n_datasets")),
                        *(_real(r.get(f), f) for f in reals),
                        *(_opt_str(r.get(f)) for f in texts),
                    ),
                )

    @staticmethod
    def _require_run(c: sqlite3.Connection, run_id: int) -> None:
        if c.execute("SELECT 1 FROM runs WHERE id = ?", (int(run_id),)).fetchone() is None:
            raise ConfigError(f"no run {run_id} in the results database; record_run first")

    # -- queries

    def _rows(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def scores(self, dataset: str | None = None, metric: str | None = None) -> list[dict]:
        """Latest value per model × metric × dataset.

        Each dict: model, metric, dataset, raw, score (higher is better), unavailable (reason or
        None), run_id, split, per_class, created_at. Sorted by dataset, metric, model.
        """
        where, params = _filters(("s.dataset", dataset), ("s.metric", metric))
        return self._rows(
            "SELECT s.model, s.metric, s.dataset, s.raw, s.score, s.unavailable, s.run_id, "
            "r.split, r.per_class, r.created_at FROM scores s JOIN runs r ON r.id = s.run_id "
            "WHERE s.id IN (SELECT MAX(id) FROM scores GROUP BY model, metric, dataset)"
            + where
            + " ORDER BY s.dataset, s.metric, s.model",
            params,
        )

    def score_history(self, dataset: str) -> list[dict]:
        """Every stored value on ``dataset``, oldest first, with what its run scored: each dict
        has model, metric, raw, score, unavailable, run_id, split, per_class, recipe (the run's
        recipe) and info (the backbone's info in that run, {} when not recorded)."""
        rows = self._rows(
            "SELECT s.model, s.metric, s.raw, s.score, s.unavailable, s.run_id, r.split, "
            "r.per_class, r.recipe_json, m.info_json FROM scores s JOIN runs r ON r.id = s.run_id "
            "LEFT JOIN run_models m ON m.run_id = s.run_id AND m.model = s.model "
            "WHERE s.dataset = ? ORDER BY s.id",
            (dataset,),
        )
        for r in rows:
            r["recipe"] = json.loads(r.pop("recipe_json"))
            info = r.pop("info_json")
            r["info"] = json.loads(info) if info else {}
        return rows

    def accuracies(self, dataset: str | None = None, protocol: str | None = None) -> list[dict]:
        """Best accuracy (percent) per model × dataset × protocol, with the hyper-parameters that
        gave it (ties: the latest). Each dict: model, dataset, protocol, accuracy, accuracy_kind,
        split, hparams, extra, run_id."""
        where, params = _filters(("e.dataset", dataset), ("e.protocol", protocol))
        rows = self._rows(
            "SELECT e.model, e.dataset, e.protocol, e.accuracy, e.accuracy_kind, e.split, "
            "e.hparams_json, e.extra_json, e.run_id FROM evaluations e WHERE e.id IN ("
            " SELECT (SELECT id FROM evaluations x WHERE x.model = g.model AND x.dataset = g.dataset"
            "  AND x.protocol = g.protocol ORDER BY x.accuracy DESC, x.id DESC LIMIT 1)"
            " FROM (SELECT DISTINCT model, dataset, protocol FROM evaluations) g)"
            + where
            + " ORDER BY e.dataset, e.protocol, e.model",
            params,
        )
        for r in rows:
            r["hparams"] = json.loads(r.pop("hparams_json"))
            extra = r.pop("extra_json")
            r["extra"] = None if extra is None else json.loads(extra)
        return rows

    def evaluation_history(self) -> list[dict]:
        """Every stored accuracy, oldest first, with the recipe of the run that measured it:
        each dict has model, dataset, protocol, accuracy (percent), extra, run_id and recipe
        (what :mod:`modelrank.history_sources` groups into a transfer history)."""
        rows = self._rows(
            "SELECT e.model, e.dataset, e.protocol, e.accuracy, e.extra_json, e.run_id, "
            "r.recipe_json FROM evaluations e JOIN runs r ON r.id = e.run_id ORDER BY e.id"
        )
        for r in rows:
            r["recipe"] = json.loads(r.pop("recipe_json"))
            extra = r.pop("extra_json")
            r["extra"] = {} if extra is None else json.loads(extra)
        return rows

    def correlations(self, suite: str | None = None) -> list[dict]:
        """Latest correlation row per suite × ground truth × dataset × score. Each dict: suite,
        ground_truth, dataset, score, n, weighted_tau, tau_low, tau_high, kendall_tau, spearman,
        pearson, rel_at_1, rel_at_3, run_id."""
        where, params = _filters(("suite", suite))
        return self._rows(
            "SELECT suite, ground_truth, dataset, score, n, weighted_tau, tau_low, tau_high, "
            "kendall_tau, spearman, pearson, rel_at_1, rel_at_3, run_id FROM correlations WHERE "
            "id IN (SELECT MAX(id) FROM correlations GROUP BY suite, ground_truth, dataset, "
            "score)" + where + " ORDER BY suite, ground_truth, dataset, score",
            params,
        )

    def tau_summaries(self, suite: str | None = None) -> list[dict]:
        """Latest summary row per suite × ground truth × score. Each dict: suite, ground_truth,
        score, n_datasets, mean_tau, tau_low, tau_high, verdict, baseline, baseline_tau, run_id."""
        where, params = _filters(("suite", suite))
        return self._rows(
            "SELECT suite, ground_truth, score, n_datasets, mean_tau, tau_low, tau_high, verdict, "
            "baseline, baseline_tau, run_id FROM tau_summaries WHERE id IN (SELECT MAX(id) FROM "
            "tau_summaries GROUP BY suite, ground_truth, score)"
            + where
            + " ORDER BY suite, ground_truth, score",
            params,
        )

    def topology(self, dataset: str | None = None) -> list[dict]:
        """Latest topology summary per model × dataset that has one: model, dataset, layers
        (list or None), omega (list of per-layer Ω or None), arrays_sha256, run_id."""
        where, params = _filters(("dataset", dataset))
        rows = self._rows(
            "SELECT model, dataset, layers_json, omega_json, arrays_sha256, run_id FROM run_models "
            "WHERE rowid IN (SELECT MAX(rowid) FROM run_models WHERE omega_json IS NOT NULL OR "
            "arrays_sha256 IS NOT NULL GROUP BY model, dataset)"
            + where
            + " ORDER BY dataset, model",
            params,
        )
        for r in rows:
            lj, oj = r.pop("layers_json"), r.pop("omega_json")
            r["layers"] = None if lj is None else json.loads(lj)
            r["omega"] = None if oj is None else json.loads(oj)
        return rows

    def model_infos(self, dataset: str) -> dict[str, dict[str, Any]]:
        """{model: the info of its latest ranking on ``dataset``} (source, id, weights,
        truncate, tags, param_count, ... as the ranking recorded them)."""
        rows = self._rows(
            "SELECT model, info_json FROM run_models WHERE rowid IN (SELECT MAX(rowid) FROM "
            "run_models WHERE dataset = ? GROUP BY model)",
            (dataset,),
        )
        return {r["model"]: json.loads(r["info_json"]) for r in rows}

    def betti_arrays(self, model: str, dataset: str) -> dict[str, np.ndarray] | None:
        """The latest stored topology arrays of ``model`` on ``dataset`` (e.g. ``cubical_betti``
        (n, L, 3), ``labels`` (n,), ``betti_per_class_mean`` (K, L, 3)), or None."""
        row = self.conn.execute(
            "SELECT a.npz FROM run_models m JOIN arrays a ON a.sha256 = m.arrays_sha256 "
            "WHERE m.model = ? AND m.dataset = ? ORDER BY m.run_id DESC LIMIT 1",
            (model, dataset),
        ).fetchone()
        return None if row is None else unpack_arrays(row[0])

    def run(self, run_id: int) -> dict | None:
        """One run: id, created_at, command, kind, dataset, split, per_class, seed,
        primary_metric, recipe (dict)."""
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            return None
        r = rows[0]
        r["recipe"] = json.loads(r.pop("recipe_json"))
        return r

    def primary_metric(self, dataset: str) -> str | None:
        """The primary metric of the latest ranking run on ``dataset``."""
        row = self.conn.execute(
            "SELECT primary_metric FROM runs WHERE dataset = ? AND primary_metric IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (dataset,),
        ).fetchone()
        return None if row is None else row[0]

    def datasets(self) -> list[str]:
        """Every dataset that has scores, evaluations or correlations, sorted."""
        rows = self.conn.execute(
            "SELECT dataset FROM scores WHERE dataset IS NOT NULL UNION "
            "SELECT dataset FROM evaluations UNION SELECT dataset FROM correlations "
            "ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def count(self, table: str) -> int:
        """Number of rows in one of the store's tables (for checks and tests)."""
        if table not in {
            "runs",
            "run_models",
            "scores",
            "arrays",
            "evaluations",
            "correlations",
            "tau_summaries",
        }:
            raise ConfigError(f"no table {table!r} in the results database")
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _filters(*pairs: tuple[str, Any]) -> tuple[str, tuple]:
    """`` AND col = ?`` clauses for the pairs whose value is not None."""
    used = [(col, v) for col, v in pairs if v is not None]
    return "".join(f" AND {col} = ?" for col, _ in used), tuple(v for _, v in used)
