"""Shared helpers of the benchmarks: a structured tet4 box mesh, memory figures, table printing.

Not part of the package; imported by ``assembly.py`` and ``solvers.py`` (run from any directory).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

# The six tets of the Kuhn (Freudenthal) split of a hex: one per axis order, all sharing the diagonal
# (0,0,0)-(1,1,1). Neighbouring hexes split this way match face to face.
_KUHN_AXES = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def box_tet_mesh(nx: int, ny: int, nz: int, lengths=(1.0, 1.0, 1.0)):
    """Structured tet4 mesh of the box ``[0, Lx] x [0, Ly] x [0, Lz]`` with ``nx*ny*nz`` hexes, 6 tets each.

    Returns ``points (nn, 3) float64`` and ``conn (6 nx ny nz, 4) int64``, every tet positively oriented
    (det J > 0, as fesolver requires). Node ``(i, j, k)`` has index ``i + (nx+1) * (j + (ny+1) * k)``.
    """
    Lx, Ly, Lz = lengths
    x = np.linspace(0.0, Lx, nx + 1)
    y = np.linspace(0.0, Ly, ny + 1)
    z = np.linspace(0.0, Lz, nz + 1)
    Z, Y, X = np.meshgrid(z, y, x, indexing="ij")
    points = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])

    sx, sy, sz = 1, nx + 1, (nx + 1) * (ny + 1)
    step = np.array([sx, sy, sz], dtype=np.int64)
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    base = (i * sx + j * sy + k * sz).ravel().astype(np.int64)
    tets = []
    for axes in _KUHN_AXES:
        o1 = step[axes[0]]
        o2 = o1 + step[axes[1]]
        o3 = o2 + step[axes[2]]
        tets.append(np.column_stack([base, base + o1, base + o2, base + o3]))
    conn = np.ascontiguousarray(np.stack(tets, axis=1).reshape(-1, 4))
    fix_orientation(points, conn)
    return points, conn


def signed_volumes(points, conn):
    p = points[conn]
    a, b, c = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]
    return np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0


def fix_orientation(points, conn):
    """Swap nodes 1 and 2 of the tets with negative signed volume (in place)."""
    neg = signed_volumes(points, conn) < 0.0
    conn[neg, 1], conn[neg, 2] = conn[neg, 2].copy(), conn[neg, 1].copy()
    return int(neg.sum())


def cube_divisions_for_tets(target_tets: int) -> int:
    """Hexes per edge of a unit cube whose 6 n^3 tets come closest to ``target_tets``."""
    return max(1, int(round((target_tets / 6.0) ** (1.0 / 3.0))))


# ----------------------------------------------------------------------------------------------
# memory and machine
# ----------------------------------------------------------------------------------------------


def ru_maxrss_mib() -> float:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in MiB.

    Caution: on Linux this survives ``execve``, so a child started by ``subprocess`` (vfork + exec) reports at
    least its *parent's* peak RSS at the time of the spawn. :func:`peak_rss_mib` does not have that problem.
    """
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process image in MiB: ``VmHWM`` of /proc/self/status on Linux (reset by
    ``exec``, so a child process measures only itself), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover
        pass
    return ru_maxrss_mib()


def rss_mib() -> float:
    """Current resident set size in MiB (psutil if installed, else /proc)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def machine_info() -> dict:
    import numba
    import numpy
    import scipy

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
    }
    try:
        import psutil

        info["ram_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # pragma: no cover
        pass
    for mod in ("skfem", "pyamg", "pypardiso", "sksparse"):
        try:
            m = __import__(mod)
            info[mod] = getattr(m, "__version__", "installed")
        except ImportError:
            info[mod] = None
    return info


def machine_load(interval: float = 1.0) -> dict:
    """System CPU use over ``interval`` s and the load averages, to flag runs disturbed by other processes."""
    out = {"loadavg": [round(x, 2) for x in os.getloadavg()]}
    try:
        import psutil

        out["cpu_percent"] = psutil.cpu_percent(interval=interval)
    except ImportError:  # pragma: no cover
        pass
    return out


def load_note(load: dict) -> str:
    cpu = load.get("cpu_percent")
    s = f"load average {load['loadavg'][0]:.2f}" + (f", CPU busy {cpu:.0f}% before start" if cpu is not None else "")
    busy = cpu > 15 if cpu is not None else load["loadavg"][0] > 0.5 * (os.cpu_count() or 1)
    if busy:
        s += "  ** WARNING: other processes are using the CPUs; timings will be inflated and noisy **"
    return s


def wait_idle(max_wait: float, threshold: float = 15.0, quiet_for: float = 3.0) -> float:
    """Wait (at most ``max_wait`` s) until system CPU use stays below ``threshold`` % for ``quiet_for`` s.

    For shared machines: returns the seconds waited (``max_wait`` reached means it gave up). No-op if
    ``max_wait <= 0`` or psutil is missing.
    """
    if max_wait <= 0:
        return 0.0
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return 0.0
    t0 = time.perf_counter()
    quiet = 0.0
    while time.perf_counter() - t0 < max_wait:
        if psutil.cpu_percent(interval=1.0) < threshold:
            quiet += 1.0
            if quiet >= quiet_for:
                break
        else:
            quiet = 0.0
    return time.perf_counter() - t0


class Timer:
    """``with Timer() as t: ...`` then ``t.s`` (seconds, perf_counter)."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
        return False


class CpuMonitor:
    """``with CpuMonitor() as m: ...`` then ``m.others``: CPUs used by *other* processes during the block.

    System-wide busy CPU time minus this process's own (all threads, plus children waited for inside the
    block), divided by the wall time; 0 on an idle machine, up to ``os.cpu_count()``. Needs psutil (else nan).
    """

    def __enter__(self):
        try:
            import psutil
        except ImportError:  # pragma: no cover
            self._ps = None
            self.t0 = time.perf_counter()
            return self
        self._ps = psutil
        self._me = psutil.Process()
        self._c0 = self._busy()
        self._m0 = self._own()
        self.t0 = time.perf_counter()
        return self

    def _busy(self):
        c = self._ps.cpu_times()
        return c.user + c.system + getattr(c, "nice", 0.0) + getattr(c, "irq", 0.0) + getattr(c, "softirq", 0.0)

    def _own(self):
        m = self._me.cpu_times()
        return m.user + m.system + m.children_user + m.children_system

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
        if self._ps is None:
            self.others = float("nan")
        else:
            other = (self._busy() - self._c0) - (self._own() - self._m0)
            self.others = max(0.0, other) / max(self.s, 1e-9)
        return False


#: CPUs used by other processes above which a timing counts as disturbed
DISTURBED = 0.15


def run_child(script: str, args_list, timeout=None, others_key: str = "others_cpus") -> dict:
    """Run ``python script *args_list`` in a fresh process; its last stdout line is a JSON result.

    Adds the child's wall time (``process_wall_s``) and the CPUs other processes used meanwhile
    (``others_key``); a timeout, crash or kill becomes ``{"error": ...}``.
    """
    try:
        with CpuMonitor() as mon:
            out = subprocess.run([sys.executable, script, *args_list], capture_output=True, text=True,
                                 timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        why = f"killed by signal {-out.returncode} (out of memory?)" if out.returncode < 0 else tail
        return {"error": why, "stderr": out.stderr[-3000:]}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall_s"] = mon.s
    res[others_key] = mon.others
    return res


def best_of(fn, repeats: int):
    """Run ``fn`` ``repeats`` times.

    Returns ``(best, times, others, result)``: ``best`` is the shortest time among the repeats that other
    processes did not disturb (see :class:`CpuMonitor`), or among all if every one was disturbed;
    ``others`` are the CPUs used by other processes during each repeat; ``result`` is the last return value.
    """
    times, others = [], []
    out = None
    for _ in range(max(1, repeats)):
        with CpuMonitor() as m:
            out = fn()
        times.append(m.s)
        others.append(m.others)
    return pick_best(times, others), times, others, out


def pick_best(times, others) -> float:
    quiet = [t for t, o in zip(times, others, strict=True) if not (o > DISTURBED)]
    return min(quiet) if quiet else min(times)


def all_disturbed(others) -> bool:
    return bool(others) and all(o > DISTURBED for o in others)


def print_table(rows, headers, aligns=None):
    """Print a plain-text table (also valid Markdown)."""
    cells = [list(headers)] + [[str(c) for c in r] for r in rows]
    cols = list(zip(*cells, strict=True))
    widths = [max(len(str(c)) for c in col) for col in cols]
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)

    def fmt(row):
        return "| " + " | ".join(f"{str(c):{a}{w}}" for c, a, w in zip(row, aligns, widths, strict=True)) + " |"

    print(fmt(headers))
    rule = ("-" * (w + 1) + ":" if a == ">" else "-" * (w + 2) for a, w in zip(aligns, widths, strict=True))
    print("|" + "|".join(rule) + "|")
    for r in rows:
        print(fmt(r))


def fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1.0:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


# ----------------------------------------------------------------------------------------------
# numba compilation: cache statistics and a cold compile in a child with an empty cache
# ----------------------------------------------------------------------------------------------


def numba_cache_stats(functions) -> dict:
    """Summed numba cache hits and misses of the given ``@njit(cache=True)`` functions."""
    hits = misses = 0
    for fn in functions:
        st = fn.stats
        hits += sum(st.cache_hits.values())
        misses += sum(st.cache_misses.values())
    return {"cache_hits": hits, "cache_misses": misses}


def compile_worker(first_calls, cache_stats) -> None:
    """Child side of :func:`cold_compile`: import fesolver, call the kernels once, print a JSON line."""
    import json
    import time

    t0 = time.perf_counter()
    import fesolver.assembly  # noqa: F401

    t_import = time.perf_counter() - t0
    s = first_calls()
    print(json.dumps({"import_s": t_import, "first_calls_s": s, **cache_stats()}))


def cold_compile(script: str) -> dict:
    """Run ``script --_compile-worker`` with an empty ``NUMBA_CACHE_DIR``: the compile a fresh install pays.

    Returns the worker's JSON figures plus ``process_wall_s``, or ``{"error": ...}`` if the child failed.
    """
    import json
    import os
    import subprocess
    import sys
    import tempfile
    import time

    with tempfile.TemporaryDirectory(prefix="fesolver-numba-") as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, script, "--_compile-worker"], env=env, capture_output=True,
                             text=True)
        wall = time.perf_counter() - t0
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall_s"] = wall
    return res
