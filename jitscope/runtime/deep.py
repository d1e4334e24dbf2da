"""The thread a session's calls into wasm run on, whose native stack holds the deep wasm stack.

Wasmtime runs wasm on the calling thread's native stack and lets it take up to the engine's
``max_wasm_stack`` before trapping.  A thread with less stack than that free would fault
instead of trapping, so every call a session makes into wasm runs on a thread with room for
it: the session's own, or the caller's when it is one (start_deep_thread).  During a stop the
session's thread waits in a host callback, so other threads' helper calls run on theirs, as
they are calls the module bounds (the reader and the printer limit their nesting).
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Generic, TypeVar

from jitscope.runtime.engine import EVAL_THREAD_STACK_BYTES

__all__ = ["DeepStackThread", "Outcome", "on_deep_stack", "run_on_deep_thread", "start_deep_thread"]

T = TypeVar("T")

_creating = threading.Lock()  # threading.stack_size is process-wide: set, start, restore
_deep_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def start_deep_thread(
    target: Callable[[], object], name: str, stack_bytes: int = EVAL_THREAD_STACK_BYTES
) -> threading.Thread:
    """Start a daemon thread with ``stack_bytes`` of native stack: sessions evaluate on it in
    place (a front end that runs evaluations on a thread of its own saves a hand-off)."""
    with _creating:
        previous = threading.stack_size(stack_bytes)
        try:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    _deep_threads.add(thread)
    return thread


class Outcome(Generic[T]):
    """A call to run on another thread: calling it runs ``call`` there and keeps what it
    returned or raised, for the thread that waits on ``done``."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._value: list[T] = []
        self._error: BaseException | None = None
        self.done = threading.Event()

    def __call__(self) -> None:
        try:
            self._value.append(self._call())
        except BaseException as e:  # noqa: BLE001 - re-raised on the waiting thread
            self._error = e
        finally:
            self.done.set()

    def result(self) -> T:
        """The call's value, or its exception raised here (once it is done)."""
        if self._error is not None:
            raise self._error
        return self._value[0]


def run_on_deep_thread(call: Callable[[], T], name: str) -> T:
    """``call()`` on a new thread from start_deep_thread, waited for."""
    outcome = Outcome(call)
    start_deep_thread(outcome, name).join()
    return outcome.result()


def on_deep_stack() -> bool:
    """Whether the current thread has the stack an evaluation may need."""
    return threading.current_thread() in _deep_threads


class DeepStackThread:
    """Runs calls one at a time on a thread with room for the wasm stack, started on first
    use.  A call from a thread with that room (this one, in a host callback that evaluates, or
    a front end's from start_deep_thread) runs in place."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._parked = False
        weakref.finalize(self, self._jobs.put, None)  # an unclosed session's thread ends too

    def run(self, call: Callable[[], T], on_interrupt: Callable[[], None]) -> T:
        """``call()``'s result (or exception), run on the deep thread.  A KeyboardInterrupt
        while waiting calls ``on_interrupt`` (which must end the call), waits for the call to
        end, then propagates: the session is never left with wasm running."""
        if self._parked or on_deep_stack():
            return call()
        outcome = Outcome(call)
        self._start()
        self._jobs.put(outcome)
        interrupted: KeyboardInterrupt | None = None
        while True:
            try:
                outcome.done.wait()
                break
            except KeyboardInterrupt as e:
                interrupted = e
                on_interrupt()
        if interrupted is not None:
            raise interrupted
        return outcome.result()

    def run_helper(self, call: Callable[[], T]) -> T:
        """A Runner for helper calls: ``run`` without the session's interrupt, which would
        also end the next evaluation."""
        return self.run(call, _no_interrupt)

    @contextmanager
    def parked(self) -> Iterator[None]:
        """While the thread waits in a host callback (a stop, for the front end's answer),
        calls from other threads run on theirs, as helper calls the module bounds: the thread
        could not take them."""
        self._parked = True
        try:
            yield
        finally:
            self._parked = False

    def close(self) -> None:
        """End the thread (after the call under way, if any)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            if thread is not threading.current_thread():
                thread.join()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = start_deep_thread(partial(_serve, self._jobs), self._name)


def _no_interrupt() -> None:
    pass


def _serve(jobs: queue.SimpleQueue[Callable[[], None] | None]) -> None:
    # Only the queue: the thread holds no session, so an unclosed one can still be freed.
    while (job := jobs.get()) is not None:
        job()
        del job
