"""cqbot: multilingual question answering with checked citations over policy documents."""

from __future__ import annotations

__version__ = "0.1.0"
