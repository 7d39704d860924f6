"""Run a sanitised notebook, then the check cells, in a sandboxed kernel with nbclient.

Errors in member cells are kept and execution goes on (so later checks still
run); a cell past its time is interrupted (SIGINT) and, if the kernel does not
come back, killed; output beyond the cap is cut. After the member cells the
result channel is opened (graders.notebook.harness) and the check cells run in
order, together within their own time budget; the result file's size is noted
after each, and the first that fails ends the checks (a hidden check's inputs are
never sent to a kernel that did not finish the cells before).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from graders.notebook.kernel import SandboxKernel, wait_ready
from graders.notebook.limits import Limits

Progress = Callable[[int, int], None]


@dataclass
class CellFailure:
    number: int  # 1-based position among the notebook's cells
    ename: str
    evalue: str
    traceback: str


@dataclass
class ExecutionReport:
    notebook: NotebookNode
    cells_run: int = 0
    cells_total: int = 0
    failures: list[CellFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timed_out: bool = False
    kernel_died: bool = False
    harness_finished: bool = False
    harness_problem: str | None = None
    # the result file's size after each check cell that ran (see harness.parse_results)
    harness_ends: list[int] = field(default_factory=list)
    output_truncated: bool = False
    seconds: float = 0.0


def _text_size(msg: dict[str, Any]) -> int:
    content = msg.get("content") or {}
    size = len(str(content.get("text", "")))
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(str(value))
    return size


class _GradingClient(NotebookClient):
    """nbclient with a cap on kept output and a timeout chosen per cell by the caller."""

    def __init__(self, nb: NotebookNode, km: Any, output_limit: int) -> None:
        super().__init__(
            nb,
            km=km,
            allow_errors=True,
            record_timing=False,
            iopub_timeout=2,
            raise_on_iopub_timeout=False,
            interrupt_on_timeout=False,
            timeout_func=lambda cell: self.current_timeout,
        )
        self.current_timeout = 60
        self.output_left = output_limit
        self.output_limit = output_limit
        self.truncated = False

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        if msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        if self.truncated:
            return None
        size = _text_size(msg)
        if size > self.output_left:
            self.truncated = True
            note = nbformat.v4.new_output(
                "stream",
                name="stderr",
                text=f"\n[output cut here: the grader keeps {self.output_limit // 1024} KB "
                "of output per notebook]\n",
            )
            outs.append(note)
            return note
        self.output_left -= size
        return super().output(outs, msg, display_id, cell_index)


def _garbled(exc: Exception) -> str:
    return f"The kernel sent a message the grader could not read ({type(exc).__name__})."


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _failures(number: int, cell: NotebookNode) -> list[CellFailure]:
    """The cell's errors, once each; the KeyboardInterrupt our own timeout caused is left out."""
    found: list[CellFailure] = []
    names = {str(o.get("ename")) for o in cell.outputs if o.get("output_type") == "error"}
    for out in cell.outputs:
        if out.get("output_type") != "error":
            continue
        ename = str(out.get("ename", ""))
        if ename == "KeyboardInterrupt" and "TimeoutError" in names:
            continue
        if any(f.ename == ename for f in found):
            continue
        found.append(
            CellFailure(
                number, ename, str(out.get("evalue", "")), "\n".join(out.get("traceback") or [])
            )
        )
    return found


async def _recovered(client: _GradingClient, kernel: SandboxKernel, wait: float) -> bool:
    """After an interrupt: does the kernel answer again within `wait` seconds?"""
    kernel.interrupt()
    kc = client.kc
    assert kc is not None
    msg_id = kc.kernel_info()
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await kc.shell_channel.get_msg(timeout=left)
        except Empty:
            break
        except Exception:  # noqa: BLE001 - garbled messages: it has not recovered
            return False
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return True
    return False


async def _run(
    kernel: SandboxKernel,
    nb: NotebookNode,
    harness: Sequence[str],
    limits: Limits,
    progress: Progress | None,
) -> ExecutionReport:
    started = time.monotonic()
    report = ExecutionReport(notebook=nb)
    client = _GradingClient(nb, kernel.manager(), limits.output_bytes)
    client.kc = kernel.client()
    client.kc.start_channels()
    try:
        await wait_ready(client.kc, kernel, limits.startup_timeout)
    except (TimeoutError, RuntimeError) as exc:
        report.kernel_died = True
        report.harness_problem = f"the kernel did not answer: {exc or 'timed out'}"
        return report
    client.kc.allow_stdin = False

    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    report.cells_total = len(code)
    deadline = started + float(limits.time_limit or 180)
    cell_timeout = float(limits.cell_timeout or 60)
    alive = True
    for number, (index, cell) in enumerate(code, 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            report.timed_out = True
            report.notes.append(
                f"Cells from cell {index + 1} on were not run: the notebook used its "
                f"{limits.time_limit:g} s."
            )
            break
        if progress is not None:
            progress(number, len(code))
        client.current_timeout = max(1, int(min(cell_timeout, remaining)))
        try:
            await client.async_execute_cell(cell, index, execution_count=number)
        except CellTimeoutError:
            report.timed_out = True
            limit = client.current_timeout
            cell.outputs.append(
                _error_output(
                    "TimeoutError", f"This cell ran for more than {limit} s and was stopped."
                )
            )
            if not await _recovered(client, kernel, wait=5):
                report.notes.append(
                    f"Cell {index + 1} ran past its {limit} s and ignored the interrupt, so the "
                    "kernel was stopped; nothing after it ran."
                )
                kernel.kill()
                alive = False
                report.failures.extend(_failures(index + 1, cell))
                break
        except DeadKernelError:
            report.kernel_died = True
            alive = False
            cell.outputs.append(_error_output("DeadKernelError", "The kernel died in this cell."))
            report.failures.extend(_failures(index + 1, cell))
            report.notes.append(
                f"The kernel died while running cell {index + 1} (out of memory, a crash, or "
                "the process exited); nothing after it ran."
            )
            break
        except Exception as exc:  # noqa: BLE001 - a hostile kernel can send anything
            report.kernel_died = True
            alive = False
            kernel.kill()
            cell.outputs.append(_error_output("KernelProtocolError", _garbled(exc)))
            report.notes.append(
                f"While running cell {index + 1} the kernel stopped speaking the Jupyter "
                "protocol (did the notebook replace json or the kernel's own functions?), so it "
                "was stopped; nothing after it ran."
            )
            break
        report.cells_run = number
        report.failures.extend(_failures(index + 1, cell))
    if alive:
        await _run_harness(client, kernel, nb, harness, limits, report)
    report.output_truncated = client.truncated
    report.seconds = time.monotonic() - started
    return report


async def _run_harness(
    client: _GradingClient,
    kernel: SandboxKernel,
    nb: NotebookNode,
    cells: Sequence[str],
    limits: Limits,
    report: ExecutionReport,
) -> None:
    if not kernel.open_results():
        report.kernel_died = True
        report.harness_problem = "the kernel died before the checks ran"
        return
    deadline = time.monotonic() + max(1.0, float(limits.harness_timeout or 60))
    for source in cells:
        left = deadline - time.monotonic()
        if left < 1:
            report.timed_out = True
            report.harness_problem = (
                f"the checked functions did not return within {limits.harness_timeout or 60:g} s"
            )
            return
        done = await _run_check_cell(client, kernel, nb, source, left, report)
        report.harness_ends.append(kernel.result_size())
        if not done:
            return
    report.harness_finished = True


async def _run_check_cell(
    client: _GradingClient,
    kernel: SandboxKernel,
    nb: NotebookNode,
    source: str,
    timeout: float,
    report: ExecutionReport,
) -> bool:
    """Run one check cell (never kept in the notebook); False if the checks must stop."""
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    client.current_timeout = max(1, int(timeout))
    try:
        await client.async_execute_cell(cell, len(nb.cells) - 1, store_history=False)
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if errors:
            report.harness_problem = (
                f"the grader's checks could not run: {errors[0].get('ename')}: "
                f"{str(errors[0].get('evalue'))[:200]}"
            )
            return False
        return True
    except CellTimeoutError:
        report.timed_out = True
        report.harness_problem = (
            f"the checked functions did not return within {client.current_timeout} s"
        )
        kernel.interrupt()
    except DeadKernelError:
        report.kernel_died = True
        report.harness_problem = "the kernel died while the checked functions ran"
    except Exception as exc:  # noqa: BLE001 - a hostile kernel can send anything
        report.kernel_died = True
        report.harness_problem = _garbled(exc).lower().rstrip(".")
        kernel.kill()
    finally:
        nb.cells.pop()
    return False


def execute(
    kernel: SandboxKernel,
    nb: NotebookNode,
    harness: str | Sequence[str],
    limits: Limits,
    progress: Progress | None = None,
) -> ExecutionReport:
    """Run nb's code cells and then the check cells (one source, or several in order) in
    kernel (already started)."""
    cells = [harness] if isinstance(harness, str) else list(harness)
    coro = _run(kernel, nb, cells, limits, progress)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:  # called from inside an event loop
        return pool.submit(asyncio.run, coro).result()
