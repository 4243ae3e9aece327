"""The NLP process pool: language identification + NER off the event loop, in batches.

Why a process pool: NER is the slowest step of the pipeline and pure CPU; run on the event loop
it would stall Kafka heartbeats. Why detection runs in the workers too: lingua's model load
holds the GIL for ~7 s (measured), so it cannot live on the loop's process, and fastText +
lingua per field is cheap next to NER. The workers get plain strings and return plain tuples.

- Spawn context (forking a process that runs aiokafka's threads can deadlock).
- Models are loaded once per process, in the initializer; :meth:`NlpPool.start` waits until every
  worker is loaded, so the first batch does not pay for it.
- One batch is split across the processes by text length (longest first to the least loaded),
  so every process is busy; each process groups its share by language and calls ``nlp.pipe``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from streams.enrich import language
from streams.enrich.corenlp import NerUnavailable
from streams.enrich.entities import Extractor, NerConfig, RawEntity
from streams.model import UNDETERMINED, Language

log = logging.getLogger(__name__)

#: One field to analyse: (text, declared language or None). The declared language (a
#: ``title_translations`` key) chooses the NER model; detection still runs and is reported.
Job = tuple[str, str | None]
#: (language code, confidence, NER status, entities) for one job.
Outcome = tuple[str, float, str, list[RawEntity]]

STATUS_OK = "ok"
STATUS_EMPTY = "empty"
STATUS_NO_LANGUAGE = "no_language"


def declared_code(declared: str | None) -> str | None:
    """``"pt-BR"`` -> ``"pt"``; None unless it looks like an ISO 639-1 code."""
    if not declared:
        return None
    code = declared.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if len(code) == 2 and code.isalpha() else None


class Analyzer:
    """Language + entities for a list of fields, in this process (the workers hold one each)."""

    def __init__(self, config: NerConfig) -> None:
        self.config = config
        language.configure(config.langid_accuracy)
        self.extractor = Extractor(config)

    def warmup(self) -> None:
        """Load every model now (seconds)."""
        language.warmup()
        self.extractor.load_all()

    def analyze(self, jobs: Sequence[Job]) -> list[Outcome]:
        langs: list[Language] = []
        status: list[str] = []
        groups: dict[str, list[int]] = {}
        for i, (text, declared) in enumerate(jobs):
            if not text or not text.strip():
                langs.append(UNDETERMINED)
                status.append(STATUS_EMPTY)
                continue
            detected = language.detect(text)
            langs.append(detected)
            lang = declared_code(declared) or detected.code
            if lang == "und":
                status.append(STATUS_NO_LANGUAGE)
            elif self.config.model_for(lang) is None:
                status.append(f"no_model:{lang}")
            else:
                status.append(STATUS_OK)
                groups.setdefault(lang, []).append(i)
        entities: list[list[RawEntity]] = [[] for _ in jobs]
        for lang, idx in groups.items():
            found = self.extractor.extract(lang, [jobs[i][0] for i in idx])
            for i, ents in zip(idx, found, strict=True):
                entities[i] = ents
        return [
            (lang.code, lang.confidence, st, ents)
            for lang, st, ents in zip(langs, status, entities, strict=True)
        ]


# --- worker side --------------------------------------------------------------------------------

_WORKER: Analyzer | None = None


_BARRIER: Any = None  # the pool's start barrier (see NlpPool.start)


def _init_worker(config: NerConfig, barrier: Any = None) -> None:
    global _WORKER, _BARRIER
    _BARRIER = barrier
    _WORKER = Analyzer(config)
    _WORKER.warmup()


def _run(jobs: list[Job]) -> list[Outcome]:
    assert _WORKER is not None, "worker not initialized"
    return _WORKER.analyze(jobs)


START_TIMEOUT = 900.0  # seconds every NER process gets to load its models


def _hello(timeout: float) -> int:
    """Return the worker's pid once every process of the pool has answered.

    Each process blocks in the start barrier until all ``processes`` hellos are in, so no
    process can take two of them: the answers are exactly the pool's pids, however long one
    process takes to load its models.
    """
    if _BARRIER is not None:
        _BARRIER.wait(timeout)
    return os.getpid()


def split_balanced(sizes: Sequence[int], parts: int) -> list[list[int]]:
    """Indices split into at most ``parts`` non-empty groups of about equal total size (LPT)."""
    parts = max(1, min(parts, len(sizes)))
    heap: list[tuple[int, int]] = [(0, p) for p in range(parts)]
    groups: list[list[int]] = [[] for _ in range(parts)]
    for i in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
        load, p = heapq.heappop(heap)
        groups[p].append(i)
        heapq.heappush(heap, (load + max(1, sizes[i]), p))
    return [sorted(g) for g in groups if g]


class NlpPool:
    """``async with NlpPool(config, processes) as pool: outcomes = await pool.analyze(jobs)``."""

    def __init__(self, config: NerConfig, processes: int = 2) -> None:
        self.config = config
        self.processes = max(1, processes)
        self._executor: ProcessPoolExecutor | None = None
        self.pids: list[int] = []
        self.generation = 0  # bumped by every start: tells a caller whether a restart happened
        self.restarts = 0
        self._restart_lock = asyncio.Lock()

    def _new_executor(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(self.config, ctx.Barrier(self.processes)),
        )

    async def start(self) -> None:
        """Start every worker and wait until its models are loaded."""
        self.config.check()
        self._executor = self._new_executor()
        loop = asyncio.get_running_loop()
        answers = await asyncio.gather(
            *(loop.run_in_executor(self._executor, _hello, START_TIMEOUT)
              for _ in range(self.processes))
        )
        self.pids = sorted(set(answers))
        self.generation += 1

    async def restart(self, generation: int) -> None:
        """Replace a broken pool once, however many callers saw it break.

        Every caller whose batch failed on pool ``generation`` asks; the first (under the
        lock) restarts, the others wait for the lock and find the generation moved on. While
        the restart runs the executor is None, so :meth:`analyze` waits for the lock too
        instead of failing healthy articles.
        """
        async with self._restart_lock:
            if self.generation != generation:
                return
            log.warning("NER pool broken (a process died); restarting it",
                        extra={"generation": generation})
            self.restarts += 1
            await self.close()
            await self.start()

    async def analyze(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Outcomes in the order of ``jobs``; the batch is spread over all processes.

        An unreachable NER server (:class:`NerUnavailable`) is not the articles' fault: the
        batch is retried with backoff (restarting the local CoreNLP service when it is ours
        and has died) until it answers, or until ``config.unavailable_wait`` seconds (0: no
        limit) have passed, when :class:`NerUnavailable` is raised. Nothing is dead-lettered
        or indexed without entities because of it.
        """
        waited, delay = 0.0, 1.0
        while True:
            try:
                return await self._analyze_once(jobs)
            except NerUnavailable as exc:
                limit = self.config.unavailable_wait
                if limit > 0 and waited >= limit:
                    raise
                log.error("NER server unavailable; retrying the batch in %.0fs: %s", delay, exc)
                if self.config.corenlp_local:
                    await asyncio.to_thread(restart_local_corenlp)
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, 30.0)

    async def _analyze_once(self, jobs: Sequence[Job]) -> list[Outcome]:
        """One try. Raises ``BrokenProcessPool`` if a process died during the batch; the pool
        has been replaced by then, so the caller can retry on the new one."""
        if self._executor is None and self._restart_lock.locked():
            async with self._restart_lock:  # a restart is under way: wait for the new pool
                pass
        executor, generation = self._executor, self.generation
        if executor is None:
            raise RuntimeError("NlpPool not started")
        if not jobs:
            return []
        groups = split_balanced([len(t or "") for t, _ in jobs], self.processes)
        loop = asyncio.get_running_loop()
        try:
            answers = await asyncio.gather(
                *(loop.run_in_executor(executor, _run, [jobs[i] for i in g]) for g in groups)
            )
        except BrokenProcessPool:
            # A worker died (OOM kill, segfault): one fresh pool so the caller can retry.
            await self.restart(generation)
            raise
        except RuntimeError as exc:  # "cannot schedule new futures after shutdown"
            if executor is self._executor:
                raise
            raise BrokenProcessPool("the NER pool was replaced during this batch") from exc
        out: list[Outcome | None] = [None] * len(jobs)
        for g, res in zip(groups, answers, strict=True):
            for i, outcome in zip(g, res, strict=True):
                out[i] = outcome
        return [o for o in out if o is not None]

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)

    async def __aenter__(self) -> NlpPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def restart_local_corenlp() -> bool:
    """Start the local CoreNLP service if it is not running (after a crash); True if started.

    Failures are logged, not raised: the caller retries anyway.
    """
    from streams import settings as settings_mod
    from streams.devservices.base import ServiceError
    from streams.devservices.corenlp import CoreNlpService

    try:
        service = CoreNlpService(settings_mod.load())
        if service.status().pid is not None:
            return False  # ours is running (maybe still loading): just retry
        started = service.start()
        if started:
            log.warning("restarted the local CoreNLP server (pid %s)", service.status().pid)
        return started
    except (ServiceError, OSError) as exc:
        log.error("could not restart the local CoreNLP server: %s", exc)
        return False


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (bytes) from /proc, or psutil elsewhere."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except Exception:
        return None
