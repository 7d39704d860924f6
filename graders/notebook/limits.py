"""Every limit a notebook run is held to, in one place so a caller can see and tune them."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limits:
    """Upload limits (checked before anything runs) and sandbox limits (enforced while it runs).

    Time limits come from the exercise spec (`time_limit`, `cell_timeout`) unless
    set here; `None` means "use the spec's value".
    """

    max_bytes: int = 2 * 1024 * 1024  # an upload larger than this is refused (413)
    max_cells: int = 400  # so is one with more cells
    time_limit: float | None = None  # all member cells together, seconds
    cell_timeout: float | None = None  # one member cell, seconds
    harness_timeout: float | None = None  # the grader's cell calling the checked functions
    # (None: cell_timeout per check, at most time_limit)
    startup_timeout: float = 60.0  # fork + kernel ready
    memory_bytes: int = 4 * 1024**3  # RLIMIT_AS of the kernel (TensorFlow maps ~1.5 GB itself)
    nproc: int = 256  # RLIMIT_NPROC: processes and threads of the slot's uid
    fsize_bytes: int = 64 * 1024**2  # RLIMIT_FSIZE: largest file the kernel may write
    nofile: int = 1024  # RLIMIT_NOFILE
    tmp_mb: int = 256  # size of the private /tmp
    home_mb: int = 256  # size of the private HOME (the working folder lives there)
    shm_mb: int = 64  # size of the private /dev/shm
    output_bytes: int = 256 * 1024  # text kept from all cell outputs; the rest is cut
    value_bytes: int = 8 * 1024**2  # largest encoded value one check may return
    result_bytes: int = 64 * 1024**2  # the most the host reads of the result file
    epochs_cap: int | None = None  # training: {cap: N} in the spec; the kernel shim caps fit()

    def with_spec_times(self, time_limit: float, cell_timeout: float, checks: int = 1) -> Limits:
        """Fill the time limits left as None from the exercise spec."""
        total = self.time_limit if self.time_limit is not None else float(time_limit)
        cell = self.cell_timeout if self.cell_timeout is not None else float(cell_timeout)
        harness = self.harness_timeout
        if harness is None:
            harness = min(total, cell * max(1, checks))
        return replace(self, time_limit=total, cell_timeout=cell, harness_timeout=harness)

    def cpu_seconds(self) -> int:
        """RLIMIT_CPU: a backstop behind the wall-clock kill, allowing every core to be busy."""
        wall = (self.time_limit or 180) + (self.harness_timeout or 60) + self.startup_timeout
        return int(wall * max(1, os.cpu_count() or 1) + 30)

    def spawn_limits(self) -> dict[str, int]:
        """Applied when a kernel is forked, before its run is known (zygote._start_kernel).

        CPU time is left at its ceiling here; `run_limits` lowers it for the run.
        """
        ceiling = replace(self, time_limit=1800.0, harness_timeout=1800.0).cpu_seconds()
        return {
            "memory_bytes": self.memory_bytes,
            "cpu_seconds": ceiling,
            "nproc": self.nproc,
            "fsize_bytes": self.fsize_bytes,
            "nofile": self.nofile,
            "tmp_mb": self.tmp_mb,
            "home_mb": self.home_mb,
            "shm_mb": self.shm_mb,
            "value_bytes": self.value_bytes,
        }

    def run_limits(self) -> dict[str, int]:
        """Applied (only ever lowered, with prlimit) when a waiting kernel gets its run."""
        limits = {
            "memory_bytes": self.memory_bytes,
            "cpu_seconds": self.cpu_seconds(),
            "nproc": self.nproc,
            "fsize_bytes": self.fsize_bytes,
            "nofile": self.nofile,
        }
        if self.epochs_cap is not None:
            limits["epochs_cap"] = self.epochs_cap
        return limits
