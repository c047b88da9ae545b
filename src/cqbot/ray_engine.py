"""The embedding step of a build on Ray Data: rows {id, text} -> map_batches, one model per worker actor.

Ray is imported here only, and only when something is embedded (`pip install 'cqbot[scale]'`).
The vectors are those of the local build embedder (same model, same weights, same prefixes), so an
index built with Ray and one built locally are interchangeable and incremental builds reuse either.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any

import numpy as np

from cqbot import errors
from cqbot.config import Settings
from cqbot.errors import ConfigError, CqbotError, ModelError, first_line
from cqbot.model.embedding import Embedder, passage_embedder

# rows per map_batches call: a worker embeds 64 texts in about a second on one core, so the per-batch cost
# of Ray Data (milliseconds) disappears, and an incremental build of a few hundred texts still spreads
BATCH_ROWS = 64
PROBE_TIMEOUT_S = 5.0  # a TCP connect to the head: refused at once, or no route within this
CONNECT_TIMEOUT_S = 60.0  # ray.init against something that accepts TCP but never answers as Ray would hang
ACTOR_WAIT_S = 600  # workers load (or first provision) the model; a cluster without free CPUs fails here
# ray.init: no dashboard, no "token authentication is enabled" notice, no worker output in the terminal
logger = logging.getLogger(__name__)
_QUIET: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
_REMOTE_ERROR = re.compile(r"^cqbot\.errors\.(\w+): (.+)$", re.MULTILINE)
_ADDRESS = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[\w.-]+):(?P<port>\d{1,5})")


def check_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a Ray head "HOST:PORT"; None for "auto" (the Ray started on this node)."""
    if address == "auto":
        return None
    if address.startswith("ray://"):
        # Ray Data needs a real driver (2.60 fails inside its executor over Ray Client)
        raise ConfigError(
            f"Ray Data does not run over Ray Client ({address}); give the head's HOST:6379 and run the "
            "build on a machine in the cluster's network"
        )
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ConfigError(
            f"Ray address must be HOST:PORT (the head, e.g. 10.0.0.5:6379) or auto, got {address!r}"
        )
    return match["host"].strip("[]"), int(match["port"])


def _import_ray() -> Any:
    # before ray is imported: no usage-stats prompt or upload; Ray Data's error logs (tracebacks) are left
    # out, as embed_passages turns a failure into one named error
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "CRITICAL")
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray Data; install it with: pip install 'cqbot[scale]'") from exc
    return ray


def _probe(host: str, port: int, address: str) -> None:
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(
            f"cannot reach Ray at {address} ({exc.strerror or exc}); start it with `ray start --head` "
            "or check --ray-address"
        ) from exc


def _connect(ray: Any, address: str) -> None:
    """ray.init(address) within CONNECT_TIMEOUT_S: in a daemon thread, as Ray itself retries for minutes."""
    hostport = check_address(address)
    if hostport is not None:
        _probe(*hostport, address)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            ray.init(address=address, **_QUIET)
            outcome.append(None)
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=attempt, name="cqbot-ray-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S)
    if not outcome:
        raise ConfigError(
            f"no answer from Ray at {address} within {CONNECT_TIMEOUT_S:.0f} s; is it the address that "
            "`ray start --head` printed? (a cluster with token auth also needs RAY_AUTH_MODE=token)"
        )
    if outcome[0] is not None:
        raise ConfigError(f"cannot connect to Ray at {address}: {first_line(outcome[0])}") from outcome[0]


def _worker_error(exc: BaseException) -> CqbotError | None:
    """The CqbotError a worker raised, through Ray's wrappers: RayTaskError.cause, __cause__, or the
    "cqbot.errors.X: message" line of the remote traceback that ActorDiedError keeps only as text."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        # Ray's RayTaskError subclasses the cause's class: only a plain cqbot error has a plain message
        if isinstance(item, CqbotError) and type(item).__module__ == errors.__name__:
            return item
        todo += [getattr(item, "cause", None), item.__cause__, item.__context__]
    found = _REMOTE_ERROR.findall(str(exc))
    if not found:
        return None
    name, message = found[-1]
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, CqbotError):
        return kind(message.strip())
    return None


class _EmbedRows:
    """Runs in each worker actor: loads the build embedder once, then embeds batches of rows {id, text}."""

    def __init__(self, settings: Settings, weights: str) -> None:
        self._embedder = passage_embedder(settings)
        if self._embedder.weights != weights:
            raise ModelError(
                f"a Ray worker has other model weights ({self._embedder.weights or 'unknown'}) than the "
                f"driver ({weights}); run `cqbot provision` on every node"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self._embedder.embed_passages([str(t) for t in batch["text"]])
        return {"id": batch["id"], "vector": vectors}


def _start_local(ray: Any) -> None:
    """A local Ray with this machine's CPUs. Ray gives its processes a fixed 30 s to register, which a
    busy machine can miss ("The current node timed out during startup"): then once more, after a shutdown
    of what was started."""
    try:
        ray.init(num_cpus=os.cpu_count() or 1, **_QUIET)
    except Exception as exc:  # Ray raises a bare Exception here
        if "timed out during startup" not in str(exc):
            raise
        logger.warning("the local Ray did not start in time (%s); trying once more", first_line(exc))
        ray.shutdown()
        ray.init(num_cpus=os.cpu_count() or 1, **_QUIET)


class RayEmbedder:
    """The build embedder with `embed_passages` spread over Ray workers; queries are embedded locally.

    Ray starts on the first embed: `ray.init(address)` for a cluster (no address: $RAY_ADDRESS, as set
    inside `ray job submit`), else a local Ray with this machine's CPUs. `close()` (or leaving a `with`
    block) shuts down only a Ray this object started; one already running in this process is used as is.
    """

    def __init__(
        self, settings: Settings, address: str | None = None, *, cpus_per_worker: float = 1.0
    ) -> None:
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address is not None:
            check_address(address)
        if cpus_per_worker <= 0:
            raise ConfigError(f"cpus_per_worker must be above 0, got {cpus_per_worker}")
        self._settings = settings
        self._address = address
        self._cpus_per_worker = cpus_per_worker
        self._local: Embedder = passage_embedder(settings)
        self.name = self._local.name
        self.weights = self._local.weights
        self._dim: int | None = None
        self._ray: Any = None
        self._owns_ray = False

    @property
    def dim(self) -> int:
        return self._dim if self._dim is not None else self._local.dim

    def _started(self) -> Any:
        if self._ray is not None:
            return self._ray
        ray = _import_ray()
        if not ray.is_initialized():
            if self._address is not None:
                _connect(ray, self._address)
            else:
                _start_local(ray)
            self._owns_ray = True
        self._ray = ray
        return ray

    def workers(self) -> int:
        """How many model copies the cluster's CPUs allow (starts Ray if needed)."""
        cpus = float(self._started().cluster_resources().get("CPU", 1.0))
        return max(1, int(cpus // self._cpus_per_worker))

    def _dataset(self, texts: Sequence[str], progress: bool) -> Any:
        ray = self._started()
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress
        context.print_on_execution_start = False
        context.wait_for_min_actors_s = ACTOR_WAIT_S
        batches = -(-len(texts) // BATCH_ROWS)
        size = min(self.workers(), batches)
        rows = ray.data.from_items(
            [{"id": i, "text": t} for i, t in enumerate(texts)], override_num_blocks=batches
        )
        return rows.map_batches(
            _EmbedRows,
            fn_constructor_args=(self._settings, self.weights),
            batch_size=BATCH_ROWS,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=size, initial_size=size),
            num_cpus=self._cpus_per_worker,
            udf_modifying_row_count=False,
        )

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids: list[np.ndarray] = []
        parts: list[np.ndarray] = []
        try:
            for batch in self._dataset(texts, progress).iter_batches(batch_size=None, batch_format="numpy"):
                ids.append(batch["id"])
                parts.append(batch["vector"])
        except CqbotError:
            raise
        except Exception as exc:
            cause = _worker_error(exc)
            if cause is not None:
                raise type(cause)(first_line(cause)) from exc
            raise ModelError(f"embedding on Ray failed: {first_line(exc)}") from exc
        # Ray Data does not keep the order of rows: put each vector back at its text's row
        row_ids = np.concatenate(ids)
        if not np.array_equal(np.sort(row_ids), np.arange(len(texts))):
            raise ModelError(f"Ray returned {len(row_ids)} vectors for {len(texts)} texts")
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vectors[row_ids] = np.concatenate(parts)
        self._dim = int(vectors.shape[1])
        return vectors

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._local.embed_queries(texts)

    def close(self) -> None:
        """Shut down the Ray this object started (a cluster keeps running; only this driver leaves)."""
        if self._owns_ray and self._ray is not None:
            self._ray.shutdown()
        self._ray = None
        self._owns_ray = False

    def __enter__(self) -> RayEmbedder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def build_embedder(
    settings: Settings, engine: str = "local", ray_address: str | None = None
) -> AbstractContextManager[Embedder]:
    """The embedder of a build, to use in a `with` block: this process's (passage_embedder), or with
    engine "ray" Ray Data workers (ray_engine.RayEmbedder, which stops a Ray it started at the end)."""
    if engine == "ray":
        return RayEmbedder(settings, ray_address)
    return nullcontext(passage_embedder(settings))
