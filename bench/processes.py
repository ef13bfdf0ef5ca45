"""Worker processes: started fresh, set up, then timed together from one barrier.

A worker function takes its spec and a ``Start`` (wait on it after setting up, right before the timed
part) and returns a picklable result. Fresh processes keep the measurements apart: no engine, cache
or memory of an earlier measurement carries over, and RSS is the worker's own. They are forked from
a fork server that has only imported the modules (``PRELOAD``): no engine, connection or event loop.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier, Event
from typing import Any

SETUP_TIMEOUT = 300.0
#: Imported once by the fork server, so that each worker starts in milliseconds, not seconds.
PRELOAD = ["bench.pipeline", "bench.pickle_bot", "bot.telegram_channel", "bot.app", "renderers"]


@dataclass
class Start:
    """What a worker waits on before its timed part (all workers start together), and the event a
    worker sets to tell helpers that the run is over."""

    barrier: Barrier
    over: Event

    def wait(self) -> None:
        self.barrier.wait(timeout=SETUP_TIMEOUT)


def memory_mb() -> tuple[float, float]:
    """This process's resident set now and at its peak (VmRSS, VmHWM), in MB."""
    values: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def _child(function: Callable[[Any, Start], Any], spec: Any, start: Start, results: Any, index: int) -> None:
    try:
        result: Any = function(spec, start)
    except BaseException:
        start.barrier.abort()
        result = RuntimeError(traceback.format_exc())
    results.put((index, result))


def run_workers(
    function: Callable[[Any, Start], Any], specs: Sequence[Any], timeout: float = 1800
) -> list[Any]:
    """Run ``function(spec, start)`` in one fresh process per spec; their results, in spec order.

    Raises:
        RuntimeError: a worker failed (with its traceback) or did not finish in ``timeout`` seconds.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    start = Start(context.Barrier(len(specs)), context.Event())
    results = context.Queue()
    processes = [
        context.Process(target=_child, args=(function, spec, start, results, index), daemon=True)
        for index, spec in enumerate(specs)
    ]
    for process in processes:
        process.start()
    collected: dict[int, Any] = {}
    try:
        while len(collected) < len(specs):
            index, result = results.get(timeout=timeout)
            if isinstance(result, BaseException):
                raise RuntimeError(f"worker {index} failed:\n{result}")
            collected[index] = result
    except queue.Empty as error:
        raise RuntimeError(f"workers did not finish within {timeout:.0f} s") from error
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return [collected[index] for index in range(len(specs))]
