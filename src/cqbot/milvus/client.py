"""Connections to Milvus, one per URI in this process, and where an index folder's vectors live.

Milvus Lite 3 locks a database to one process (an flock on <db>/LOCK); a second one is told who is in
the way. pymilvus is imported only here and only when a Milvus index is written or searched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cqbot import errors
from cqbot.errors import ConfigError, IndexMissingError

CONNECT_SECONDS = 10.0
_SERVER = re.compile(r"^(https?|tcp)://", re.IGNORECASE)
GENERATION = r"[0-9A-Za-z_-]+"


def is_server(uri: str) -> bool:
    """Whether a milvus_uri names a Milvus server or cluster (else a Milvus Lite database)."""
    return bool(_SERVER.match(uri.strip()))


def pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise ConfigError("index_backend milvus needs pymilvus; run: pip install 'cqbot[scale]'") from exc
    return pymilvus


@dataclass(frozen=True)
class Location:
    """Where an index folder's vectors live in Milvus."""

    uri: str  # as recorded: "" (Lite databases in the index folder), a Lite path, or a server URI
    directory: Path  # the index folder

    @classmethod
    def of(cls, uri: str, directory: Path) -> Location:
        """The location for a `milvus_uri` setting, in the form the manifest records."""
        uri = uri.strip()
        if _SERVER.match(uri):
            if urlparse(uri).password or urlparse(uri).username:
                raise ConfigError(
                    "milvus_uri must not hold credentials (it is recorded in the index manifest); "
                    "use a server without authentication, or index_backend faiss"
                )
            return cls(uri, directory)
        return cls(str(Path(uri).expanduser().resolve()) if uri else "", directory)

    @property
    def server(self) -> bool:
        return is_server(self.uri)

    def _base(self) -> Path:
        if not self.uri:  # inside the index folder: its own
            return self.directory.absolute() / "milvus"
        base = Path(self.uri)
        base = base.with_suffix("") if base.suffix == ".db" else base
        # a path several index folders may name: each folder's databases carry its tag
        return base.with_name(f"{base.name}-{self._tag()}")

    def _tag(self) -> str:
        return hashlib.blake2b(str(self.directory.resolve()).encode(), digest_size=4).hexdigest()

    def lite_path(self, generation: str) -> Path:
        base = self._base()
        return base.with_name(f"{base.name}-{generation}.db")

    def is_lite_file(self, path: Path) -> bool:
        """Whether `path` is a Milvus Lite database of some generation here (a build's or a temporary)."""
        base = self._base()
        pattern = rf"\.?{re.escape(base.name)}-{GENERATION}\.db(\.tmp-\d+\.db)?"
        here = path.parent.absolute() == base.parent
        return not self.server and here and re.fullmatch(pattern, path.name) is not None

    def prefix(self, generation: str) -> str:
        """Collection-name prefix: the index folder (several may share a server) and the generation."""
        return f"cqbot_{self._tag()}_{generation.replace('-', '_')}"


# One client per URI in this process, shared by the indexes open on it; a Milvus Lite database is closed
# (its in-process server stopped) when the last index using it is gone, so a long-running `cqbot serve`
# does not keep every generation it has answered from.
_lock = threading.RLock()  # a finalizer may release a client while this thread opens one
_clients: dict[str, tuple[Any, int]] = {}


def open_client(uri: str) -> Any:
    if not _SERVER.match(uri) and Path(uri).is_dir():
        check_unlocked(Path(uri))
    module = pymilvus()
    try:
        return module.MilvusClient(uri=uri, timeout=CONNECT_SECONDS)
    except Exception as exc:  # pymilvus raises MilvusException and friends
        raise IndexMissingError(
            f"cannot reach Milvus at {uri} ({first_line(exc)}); start it, or run: cqbot build --full"
        ) from exc


def check_unlocked(path: Path) -> None:
    """Milvus Lite 3 holds an flock on <db>/LOCK; say who is in the way instead of a bare failure."""
    if held_elsewhere(path):
        raise IndexMissingError(
            f"Milvus Lite database {path} is open in another process (Milvus Lite allows one); stop "
            "that process (a cqbot serve?), or use a Milvus server: milvus_uri = http://host:19530"
        )


def held_elsewhere(path: Path) -> bool:
    """Whether another process holds the Milvus Lite database at `path` (its flock on <db>/LOCK). A lock
    that cannot be tested (no write access) counts as unknown: False, and opening it will say more."""
    lock = path / "LOCK"
    if not lock.exists():
        return False
    try:
        with open(lock, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def acquire(uri: str) -> Any:
    with _lock:
        client, users = _clients.get(uri, (None, 0))
        if client is None:
            client = open_client(uri)
        _clients[uri] = (client, users + 1)
        return client


def release(uri: str) -> None:
    with _lock:
        client, users = _clients.get(uri, (None, 0))
        if users > 1:
            _clients[uri] = (client, users - 1)
            return
        _clients.pop(uri, None)
    if client is not None:
        close(client, uri)


def close(client: Any, uri: str) -> None:
    with contextlib.suppress(Exception):  # closing is best effort: the process may be exiting
        client.close()
    if not _SERVER.match(uri):
        close_lite_server(uri)


def first_line(exc: BaseException) -> str:
    return errors.first_line(exc)[:200]  # Milvus messages can hold whole request dumps


def close_lite_server(path: str) -> None:
    """Stop this process's embedded server for a Lite database, if it runs one (best effort)."""
    with contextlib.suppress(Exception):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(path)


def in_use(uri: str) -> bool:
    """Whether this process has the database or server at `uri` open."""
    with _lock:
        return uri in _clients
