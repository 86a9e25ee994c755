"""Expand studies into runs, each with the cache key of exactly what determines its numbers."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from . import kinds, native
from .codehash import files_digest, module_closure
from .coursefiles import FIXED_LIMIT, read_course_file
from .model import Run, RunKey, Study
from .schema import StudyFields


def plan_study(study: Study) -> list[Run]:
    """Every run of a study, sweep points in file order and seeds innermost."""
    kind = kinds.get(study.kind)
    code = code_version(kind)
    runs = []
    for point in study.points:
        for seed in study.seeds:
            # The C kernel and the torch fallback agree to rounding, not bit for bit.
            kernel = native.backend_id(point.config.model.kind) if kind.trains else None
            parts = RunKey(config=canonical_config(point.config), seed=seed, code=code,
                           libraries=library_versions(), kernel=kernel)
            runs.append(Run(study_id=study.id, params=point.params, seed=seed, config=point.config,
                            key=_digest(parts.as_dict()), key_parts=parts))
    return runs


def canonical_config(config: StudyFields) -> dict[str, Any]:
    """The numeric content of a run: data, model and training or sampling, without prose."""
    dumped = config.model_dump(mode="json", exclude={"title", "summary", "activities"})
    # The study kind only selects the analysis; two kinds training the same model share results.
    dumped.pop("kind")
    return dumped


def analysis_key(study: Study, runs: list[Run], language: str = "en") -> str:
    """Content address of a study's analysis in ``language``: its runs, the analysis code, the language's
    messages and the versions of matplotlib and Babel (which write its figures' words and numbers)."""
    from .language import catalogue

    kind = kinds.get(study.kind)
    messages = catalogue(language, [Path(kind.templates)] if kind.templates else []).files
    parts = {
        "study": study.id,
        "kind": study.kind,
        "runs": [run.key for run in runs],
        # Which fields are swept shows in legends, labels and facts, but not in the run keys: sweeping
        # "data.noise" = [0.1] trains the same runs as a fixed noise of 0.1, yet draws a different figure.
        "params": [[list(pair) for pair in run.params] for run in runs],
        "code": analysis_code_version(kinds.get(study.kind)),
        "matplotlib": metadata.version("matplotlib"),
        "language": language,
        # Read as the catalogue read them (no FIFO, no link out of their templates folder, bounded).
        "messages": [hashlib.sha256(read_course_file(path, path.parent.parent, FIXED_LIMIT, "message files",
                                                     folder="its templates folder")).hexdigest()
                     for path in messages],
        "babel": metadata.version("babel"),
    }
    return _digest(parts)


def code_version(kind: kinds.Kind) -> str:
    """Hash of the code that computes a kind's runs (its ``compute`` and all it imports): editing the trainer
    recomputes, editing an analysis or a template does not."""
    return files_digest(kinds.code_files(kind.compute_module))


def analysis_code_version(kind: kinds.Kind) -> str:
    """Hash of the code that turns a kind's outcomes into results (its ``analyze`` and all it imports), and of
    the store that keeps them."""
    return files_digest(sorted({*kinds.code_files(kind.analysis_module), *module_closure(f"{__package__}.cache")}))


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of the numeric libraries, read without importing them."""
    return {name: metadata.version(name) for name in ("torch", "numpy")}


def _digest(parts: dict[str, Any]) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
