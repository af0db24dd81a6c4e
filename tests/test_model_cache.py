"""The disk cache of built models (fesolver.models.cache)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from fesolver.elements import QUAD4, TET4, TRI3
from fesolver.models import cache as C
from fesolver.models.insole import build_insole


def test_element_types_survive_pickle_and_deepcopy():
    """Element types are compared by identity; copies of a model must keep the registered instances."""
    for et in (TET4, TRI3, QUAD4):
        assert copy.deepcopy(et) is et
        assert pickle.loads(pickle.dumps(et)) is et


def test_cached_build_hits_and_returns_equal_fresh_models(tmp_path, monkeypatch):
    monkeypatch.setenv("FESOLVER_CACHE", str(tmp_path))
    calls = []

    def counted(**kw):
        calls.append(kw)
        return build_insole(**kw)

    counted.__module__, counted.__qualname__ = "tests", "counted"
    a = C.cached_build(counted, thickness=5.0, mesh="coarse")
    b = C.cached_build(counted, thickness=5.0, mesh="coarse")
    assert len(calls) == 1, "second call must come from the cache"
    assert b is not a and np.array_equal(a.mesh.points, b.mesh.points)
    assert b.mesh.solids[0].etype is TET4 and b.mesh.facet_sets["insole_top"][0][0] is TRI3
    C.cached_build(counted, thickness=6.0, mesh="coarse")
    assert len(calls) == 2, "other arguments, other entry"
    entries = list((tmp_path / "models").glob("*.pickle"))
    assert len(entries) == 2 and not list((tmp_path / "models").glob(".*"))
    # a corrupt entry is rebuilt, not trusted
    for e in entries:
        e.write_bytes(b"not a pickle")
    C.cached_build(counted, thickness=5.0, mesh="coarse")
    assert len(calls) == 3


def test_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("FESOLVER_CACHE", "off")
    assert C.cache_dir() is None
    m = C.cached_build(build_insole, thickness=5.0)
    assert m.mesh.n_nodes > 0


@pytest.mark.parametrize("value", ["", "/some/where"])
def test_cache_dir(monkeypatch, value):
    monkeypatch.setenv("FESOLVER_CACHE", value)
    assert C.cache_dir() is not None
