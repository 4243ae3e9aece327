"""Batches that wait to fill only while the stage behind them is busy.

Faust's ``noack_take(n, within=s)`` waits for ``n`` events or ``s`` seconds, whatever the stage
does meanwhile: with no backlog every event waits out part of ``s`` for company it does not need.
Here a batch leaves as soon as the stage is *idle* (:class:`Gate`: fewer batches in flight than it
takes at once) with whatever has arrived; while the stage is busy, events pile up behind it and
the next batch leaves when it is full, when ``within`` has passed since its first event, or when
the stage frees a slot. So an idle pipeline answers one article at a time without waiting, and a
loaded one still works in full batches: the batch size follows the load (Nagle's rule).

The stream is read in the agent's own task (as Faust expects); batches are handed to
``process`` in a second task through a bounded queue, so a slow stage stops the reading (Faust's
stream buffer then pauses the fetcher). Nothing here acks: ``process`` does, once its outputs are
durable, so events still queued when the agent stops are redelivered to the next owner.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


async def put_watching(queue: asyncio.Queue[Any], item: Any, consumer: asyncio.Future[Any]
                       ) -> None:
    """Put ``item`` on a bounded queue; if ``consumer`` (the task that empties it, which only
    ends by failing) ends first, raise its error instead of waiting forever."""
    if consumer.done():
        consumer.result()
    if not queue.full():  # the common case: no task and no wait per item
        queue.put_nowait(item)
        return
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait({put, consumer}, return_when=asyncio.FIRST_COMPLETED)
    if consumer.done():
        put.cancel()
        consumer.result()


class Gate:
    """How many batches a stage has in flight, and a wake-up when one ends.

    ``limit`` is how many it works on at once (e.g. batches in the NER pool, bulks in flight):
    below it the stage is idle and a waiting batch should leave now.
    """

    def __init__(self, limit: int = 1) -> None:
        self.limit = max(1, limit)
        self.active = 0
        self._freed = asyncio.Event()

    def busy(self) -> bool:
        return self.active >= self.limit

    def enter(self) -> None:
        self.active += 1

    def leave(self) -> None:
        self.active = max(0, self.active - 1)
        self._freed.set()

    async def freed(self) -> None:
        """Wait until a batch leaves the stage (returns at once if one left since the last call)."""
        await self._freed.wait()
        self._freed.clear()


class Batches(Generic[T]):
    """Collect events into batches for ``process``; see the module docstring for the rule."""

    def __init__(self, max_size: int, within: float, gate: Gate,
                 process: Callable[[list[T]], Awaitable[None]]) -> None:
        self.max_size = max(1, max_size)
        self.within = within
        self.gate = gate
        self.process = process
        self.queue: asyncio.Queue[T] = asyncio.Queue(maxsize=self.max_size)

    async def run(self, events: AsyncIterable[T]) -> None:
        """Read ``events`` here and process them in batches in a second task until cancelled.

        A failure of ``process`` ends this with that exception (the agent then crashes or stops
        instead of reading on with nobody processing).
        """
        worker = asyncio.ensure_future(self._work())
        try:
            async for event in events:
                await put_watching(self.queue, event, worker)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _work(self) -> None:
        while True:
            await self.process(await self.next_batch())

    async def next_batch(self) -> list[T]:
        """The next batch: at least one event, leaving by the rule above."""
        loop = asyncio.get_running_loop()
        batch = [await self.queue.get()]
        deadline = loop.time() + self.within
        while True:
            while len(batch) < self.max_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            left = deadline - loop.time()
            if len(batch) >= self.max_size or not self.gate.busy() or left <= 0:
                return batch
            more = asyncio.ensure_future(self.queue.get())
            freed = asyncio.ensure_future(self.gate.freed())
            try:
                await asyncio.wait({more, freed}, timeout=left,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                freed.cancel()
                if not more.done():
                    more.cancel()
            if more.done() and not more.cancelled():
                batch.append(more.result())


class Backlog:
    """Whether a stage's last batch left full, i.e. more events were already waiting behind it.

    A later stage reads it to tell a lull from a pause inside a backlog (for example whether a
    small bulk is worth an immediate index refresh).
    """

    def __init__(self) -> None:
        self.behind = False

    def note(self, size: int, max_size: int) -> None:
        self.behind = size >= max_size
