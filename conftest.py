"""pytest set-up shared by the test suite and the package's doctests.

The suite runs on pytest-xdist workers (``-n auto`` in ``pyproject.toml``). Each worker would otherwise start as
many numba, OpenMP and MKL threads as the machine has cores, so two workers on two cores would run four threads
and slow each other down; a worker takes its share of the cores instead, before numba or MKL is imported. A
thread count set in the environment is kept (``NUMBA_NUM_THREADS=2 pytest`` still means two).
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _share_cores_between_workers() -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if workers <= 1:
        return
    share = str(max(1, _cores() // workers))
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, share)


_share_cores_between_workers()


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core this process may run on (its CPU affinity, so a container or ``taskset``
    limit is respected), at most 4: the suite's longest file (tests/test_run.py, about half the total) runs on
    one worker whatever their number."""
    return max(1, min(_cores(), 4))
