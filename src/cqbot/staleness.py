"""Whether an index is current: its manifest against corpus/ and the settings, changing nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cqbot.config import Settings
from cqbot.corpus import CorpusRead, read_corpus
from cqbot.index import Manifest, read_manifest, recorded_backend


@dataclass(frozen=True)
class Staleness:
    """Why an index is out of date (empty reasons: it is current)."""

    reasons: tuple[str, ...]
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return bool(self.reasons)


def _settings_differ(manifest: Manifest, settings: Settings, model: str, weights: str) -> list[str]:
    reasons = []
    if manifest.model != model or manifest.weights != weights:
        reasons.append(f"model changed ({manifest.model} -> {model})")
    if (manifest.chunk_size, manifest.chunk_overlap) != (settings.chunk_size, settings.chunk_overlap):
        reasons.append("chunking settings changed")
    wanted = recorded_backend(settings.index_backend, settings.milvus_uri, settings.index_dir)
    if (manifest.backend, manifest.milvus_uri) != wanted:
        # every stored vector is reused: only where they are searched changes
        reasons.append(f"index backend changed ({manifest.backend} -> {settings.index_backend})")
    return reasons


def all_hashes(read: CorpusRead, corpus_dir: Path) -> dict[str, str]:
    hashes = dict(read.hashes)
    for skipped in read.skipped:
        path = corpus_dir / skipped.path
        if path.is_file():
            hashes[skipped.path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def check(settings: Settings, model: str, weights: str) -> Staleness:
    """Compare corpus/ and settings with the built index without changing anything."""
    manifest = read_manifest(settings.index_dir)
    read = read_corpus(settings.corpus_dir)
    return compare(manifest, all_hashes(read, settings.corpus_dir), settings, model, weights)


def compare(
    manifest: Manifest, hashes: dict[str, str], settings: Settings, model: str, weights: str
) -> Staleness:
    old = manifest.files
    added = tuple(sorted(set(hashes) - set(old)))
    removed = tuple(sorted(set(old) - set(hashes)))
    changed = tuple(sorted(p for p in set(hashes) & set(old) if hashes[p] != old[p]))
    reasons = _settings_differ(manifest, settings, model, weights)
    for label, items in (("added", added), ("changed", changed), ("removed", removed)):
        if items:
            reasons.append(f"{len(items)} file(s) {label}: {', '.join(items[:5])}")
    return Staleness(tuple(reasons), added, changed, removed)
