"""A disk cache of built anatomical models, so that a scenario does not re-mesh the same foot every run.

Building the parametric foot takes 15-30 s (gmsh OCC booleans and meshing) while solving its coarse mesh takes
a few seconds; batches and tests build the same few feet again and again. :func:`cached_build` keeps each
built :class:`~fesolver.models.AnatomicalModel` in ``$FESOLVER_CACHE`` (default ``~/.cache/fesolver``) under
``models/<builder>-<key>.pickle``, the key a SHA-256 of the builder's name, its arguments, the fesolver version
and the source text of the ``fesolver.models`` and ``fesolver.elements`` packages and of the mesh module (so
editing a builder invalidates its entries). ``FESOLVER_CACHE=off`` disables it.

The files are Python pickles written by this process's own user into that folder (written to a temporary
file, then renamed, so a killed run leaves no partial entry); a corrupt or unreadable entry is rebuilt. Only
load a cache folder you trust, as with any pickle. The models are small (a coarse foot is about 1 MB).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from pathlib import Path

__all__ = ["cached_build", "cache_dir"]

log = logging.getLogger(__name__)

_SOURCE_HASH: str | None = None


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when ``FESOLVER_CACHE=off``."""
    v = os.environ.get("FESOLVER_CACHE", "")
    if v.lower() in ("off", "0", "no", "false"):
        return None
    return Path(v) if v else Path.home() / ".cache" / "fesolver"


def source_digest(files) -> str:
    """SHA-256 (hex) of the fesolver version and ``files``, given as ``(label, path)`` pairs: each label and the
    file's bytes, in the order given (the code-version key of cached models and of batch results)."""
    from .. import __version__

    h = hashlib.sha256(__version__.encode())
    for label, p in files:
        h.update(label.encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def _source_hash() -> str:
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        here = Path(__file__).resolve().parent
        files = sorted(here.glob("*.py")) + sorted((here.parent / "elements").glob("*.py")) + [here.parent / "mesh.py"]
        _SOURCE_HASH = source_digest((p.name, p) for p in files)
    return _SOURCE_HASH


def cached_build(builder, **kwargs):
    """``builder(**kwargs)``, from the disk cache when the same build was made before (a fresh object each
    call: callers may change it). Arguments must be JSON-serialisable (numbers, strings, booleans)."""
    root = cache_dir()
    name = f"{builder.__module__}.{builder.__qualname__}"
    if root is None:
        return builder(**kwargs)
    key = hashlib.sha256(json.dumps([name, kwargs, _source_hash()], sort_keys=True).encode()).hexdigest()[:24]
    path = root / "models" / f"{builder.__name__}-{key}.pickle"
    if path.is_file():
        try:
            with open(path, "rb") as f:
                model = pickle.load(f)
            log.info("model cache hit: %s", path)
            return model
        except Exception as exc:  # corrupt or from an incompatible version: rebuild
            log.warning("model cache entry %s unreadable (%s); rebuilding", path, exc)
    model = builder(**kwargs)
    try:
        from ..results import atomic_write

        path.parent.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(path, lambda p: Path(p).write_bytes(data))
    except (OSError, pickle.PicklingError, AttributeError, TypeError) as exc:  # read-only home, unpicklable
        log.warning("could not write the model cache %s: %s", path, exc)
    return model
