"""Settings: defaults <- cqbot.toml <- CQBOT_* environment variables; passed explicitly to each stage."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cqbot.errors import ConfigError

DEFAULT_MODEL = "intfloat/multilingual-e5-small"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cqbot"


@dataclass(frozen=True)
class Settings:
    """Every tunable of cqbot. Paths are resolved relative to the working directory."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    # chunking (characters; e5 reads at most 512 tokens, ~1,500 characters of German)
    chunk_size: int = 900
    chunk_overlap: int = 1
    # retrieval
    top_k: int = 5
    dense_k: int = 30
    lexical_k: int = 30
    rrf_k: int = 60
    # answer
    max_citations: int = 2
    # the place or subject the corpus is about: off-topic anchors are phrased about it (see answer.py)
    subject: str = "Chongqing"
    # other spellings of the subject ("|"-separated): a document naming any of them is about the subject
    subject_names: str = "重庆|重慶|Чунцин"
    # the best sentence must beat the off-topic anchors by this much (tuning part: 0.0 declines 1 of 120
    # answerable questions, 0.005 declines 4, with the same unanswerable ones declined; RESULTS.md)
    min_margin: float = 0.0
    # what a question asks for: "examples" (a classifier of question vectors fitted on labelled example
    # questions, any language), "rules" (pattern lists, seven languages) or "both" (either); asking.py
    question_analysis: str = "both"
    # where the chat's 👍 / 👎 votes go (feedback.jsonl inside it)
    feedback_dir: Path = Path("feedback")
    exact_search_limit: int = 50_000
    # where the vectors are searched: "faiss" (files in index_dir) or "milvus" (at milvus_uri: a file path
    # is Milvus Lite, embedded in this process; an http(s):// URI a Milvus server or cluster)
    index_backend: str = "faiss"
    milvus_uri: str = ""  # empty: milvus.db inside index_dir
    batch_size: int = 32
    # optional generated answers (OpenAI-compatible endpoint)
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 30.0

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    try:
        if kind in (Path, "Path"):
            return Path(str(raw)).expanduser()
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {raw!r} ({exc})") from exc


def load_settings(
    config_file: Path | None = None, env: dict[str, str] | None = None, **overrides: Any
) -> Settings:
    """Settings from defaults, then `cqbot.toml` (or `config_file`), then CQBOT_* env, then overrides."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(Settings)}
    path = config_file or (Path(env["CQBOT_CONFIG"]) if env.get("CQBOT_CONFIG") else Path("cqbot.toml"))
    if config_file is not None and not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        data = data.get("cqbot", data)
        for key, raw in data.items():
            if key not in types:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, types[key], raw)
    for name, kind in types.items():
        raw = env.get(f"CQBOT_{name.upper()}")
        if raw:
            values[name] = _coerce(name, kind, raw)
    for name, raw in overrides.items():
        if raw is None:
            continue
        if name not in types:
            raise ConfigError(f"unknown setting {name!r}")
        values[name] = _coerce(name, types[name], raw)
    settings = Settings(**values)
    if settings.chunk_size < 100:
        raise ConfigError(f"chunk_size must be at least 100 characters, got {settings.chunk_size}")
    if settings.chunk_overlap < 0:
        raise ConfigError(f"chunk_overlap must be 0 or more sentences, got {settings.chunk_overlap}")
    if settings.question_analysis not in ("examples", "rules", "both"):
        raise ConfigError(
            f"question_analysis must be examples, rules or both, got {settings.question_analysis!r}"
        )
    if settings.index_backend not in ("faiss", "milvus"):
        raise ConfigError(f"index_backend must be faiss or milvus, got {settings.index_backend!r}")
    if settings.top_k < 1:
        raise ConfigError(f"top_k must be at least 1, got {settings.top_k}")
    return settings
