"""The NLP process pools: language identification once, NER off the event loop, in batches.

Why process pools: NER is the slowest step of the pipeline and pure CPU; run on the event loop
it would stall Kafka heartbeats. Language identification (fastText, then lingua for short or
uncertain texts) is cheap per text, but lingua's high-accuracy models take about 1 GB and their
loading holds the GIL for seconds (measured: see BENCHMARKS.md), so it can neither run on the
loop's process nor be copied into every NER process: one language process serves the whole
worker, and the NER processes load only NER models. The processes get plain strings and return
plain tuples.

- Spawn context (forking a process that runs aiokafka's threads can deadlock).
- The language models are loaded once, in the language process's initializer. An NER process
  loads only the gazetteers at start and each NER model on the first text of its language, so
  it holds the models of the languages its stream has (none with CoreNLP serving them).
  :meth:`NlpPool.start` can return at once (``wait=False``) so the worker starts consuming
  while the models load; the first batch then waits for them instead.
- A batch is detected in the language process (each article's longest field first, its language
  the prior of the article's short fields), then split across the NER processes by text
  length (longest first to the least loaded), so every process is busy; each process groups
  its share by language and calls ``nlp.pipe``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from streams.enrich import language
from streams.enrich.corenlp import NerUnavailable
from streams.enrich.entities import Extractor, Found, NerConfig
from streams.model import UNDETERMINED, Language

log = logging.getLogger(__name__)

#: One field to analyse: (text, declared language or None). The declared language (a
#: ``title_translations`` key) chooses the NER model; detection still runs and is reported.
Job = tuple[str, str | None]
#: Per job, the index (in the same batch) of the job whose detected language is its prior, e.g.
#: the article's body for its title (see ``language.detect_in_context``); None: no context.
Context = int | None
#: (language code, confidence, NER status, entities) for one job.
Outcome = tuple[str, float, str, list[Found]]
#: A job with its detected language (code, confidence): what the NER processes get.
DetectedJob = tuple[str, str | None, str, float]

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

    def warmup(self, detection: bool = True) -> None:
        """Load every model now (seconds); the language models only if ``detection``."""
        if detection:
            language.warmup()
        self.extractor.load_all()

    def prepare(self) -> None:
        """What an NER process loads at start: the gazetteers only (a fraction of a second).
        Each NER model loads on the first text of its language (:class:`Extractor`)."""
        self.extractor.load_shared()

    def analyze(
        self, jobs: Sequence[Job], contexts: Sequence[Context] | None = None
    ) -> list[Outcome]:
        """Detect the language of every job here, then run NER (the in-process path)."""
        codes = _detect_many([text for text, _ in jobs], _contexts(jobs, contexts))
        return self.analyze_detected(
            [(text, declared, *found) for (text, declared), found in zip(jobs, codes, strict=True)]
        )

    def analyze_detected(self, jobs: Sequence[DetectedJob]) -> list[Outcome]:
        """NER of jobs whose language is already detected (what the NER processes run)."""
        langs: list[Language] = []
        status: list[str] = []
        groups: dict[str, list[int]] = {}
        for i, (text, declared, code, confidence) in enumerate(jobs):
            if not text or not text.strip():
                langs.append(UNDETERMINED)
                status.append(STATUS_EMPTY)
                continue
            detected = Language(code, confidence) if code != UNDETERMINED.code else UNDETERMINED
            langs.append(detected)
            lang = declared_code(declared) or detected.code
            if lang == "und":
                status.append(STATUS_NO_LANGUAGE)
            elif self.config.model_for(lang) is None:
                status.append(f"no_model:{lang}")
            else:
                status.append(STATUS_OK)
                groups.setdefault(lang, []).append(i)
        entities: list[list[Found]] = [[] for _ in jobs]
        for lang, idx in groups.items():
            found = self.extractor.extract(lang, [jobs[i][0] for i in idx])
            for i, ents in zip(idx, found, strict=True):
                entities[i] = ents
        return [
            (lang.code, lang.confidence, st, ents)
            for lang, st, ents in zip(langs, status, entities, strict=True)
        ]


def _contexts(jobs: Sequence[Job], contexts: Sequence[Context] | None) -> list[Context]:
    if contexts is None:
        return [None] * len(jobs)
    if len(contexts) != len(jobs):
        raise ValueError(f"{len(contexts)} contexts for {len(jobs)} jobs")
    return list(contexts)


# --- worker side --------------------------------------------------------------------------------

_WORKER: Analyzer | None = None


def _init_worker(config: NerConfig) -> None:
    global _WORKER
    _WORKER = Analyzer(config)
    _WORKER.prepare()


def _loaded() -> list[str]:
    assert _WORKER is not None, "worker not initialized"
    return _WORKER.extractor.loaded()


def _run(jobs: list[DetectedJob]) -> list[Outcome]:
    assert _WORKER is not None, "worker not initialized"
    return _WORKER.analyze_detected(jobs)


def _init_langid(accuracy: str) -> None:
    language.configure(accuracy)
    language.warmup()


def _detect_many(texts: list[str], contexts: list[Context]) -> list[tuple[str, float]]:
    """The language process's task: (code, confidence) of each text, the contexts first and
    each one the prior of the texts that name it."""
    found = language.detect_in_context(texts, contexts)
    return [(lang.code, lang.confidence) for lang in found]


def assign_processes(
    sizes: Sequence[int], homes: Sequence[int | None], parts: int
) -> list[list[int]]:
    """Indices per process, ``parts`` groups (some may be empty) (pure).

    A job with a home (its language's model runs inside the NER processes: spaCy, natasha) goes
    to that process while the process holds no more than an even share of the batch, so a
    language that is a minority of the stream has its model loaded by one process per worker
    instead of by all; a language that fills more than a share spills over to the least loaded
    process (which then loads its model too): parallelism before memory. The other jobs (a
    model behind a server, or none) are spread by size, largest first, each to the least
    loaded process.
    """
    parts = max(1, parts)
    groups: list[list[int]] = [[] for _ in range(parts)]
    loads = [0] * parts
    weight = [max(1, n) for n in sizes]
    share = -(-sum(weight) // parts)
    order = sorted(range(len(sizes)), key=lambda k: -weight[k])
    for i in (k for k in order if homes[k] is not None):
        home = int(homes[i]) % parts  # type: ignore[arg-type]
        fits = loads[home] + weight[i] <= share
        p = home if fits else min(range(parts), key=lambda q: (loads[q], q != home))
        groups[p].append(i)
        loads[p] += weight[i]
    for i in (k for k in order if homes[k] is None):
        p = min(range(parts), key=loads.__getitem__)
        groups[p].append(i)
        loads[p] += weight[i]
    return [sorted(g) for g in groups]


#: Thread-count variables of the BLAS and OpenMP runtimes that numpy-based models use.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread() -> None:
    """One BLAS thread in every process spawned from now on, unless the user set a count.

    The pool's processes are the parallelism. natasha's morphology tagger multiplies small
    matrices through numpy, whose OpenBLAS starts one busy-waiting thread per core in each
    process: with two NER processes on two cores that is four spinning threads, and the
    tagger ran several times slower than with one thread whenever the cores were shared. Spawned
    processes inherit the environment, and OpenBLAS reads it when numpy is first imported.
    """
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")


class NlpPool:
    """``async with NlpPool(config, processes) as pool: outcomes = await pool.analyze(jobs)``."""

    def __init__(self, config: NerConfig, processes: int = 2) -> None:
        self.config = config
        self.processes = max(1, processes)
        #: one single-process executor per NER process, so a batch part can go to a given one
        self._executors: list[ProcessPoolExecutor] | None = None
        self._langid: ProcessPoolExecutor | None = None
        self._ready: asyncio.Future[None] | None = None
        self.pids: list[int] = []
        self.langid_pid: int | None = None
        self.generation = 0  # bumped by every start: tells a caller whether a restart happened
        self.restarts = 0
        #: language -> its home process, computed once (the models and the process count are fixed)
        self._homes = {lang: config.home(lang, self.processes) for lang in config.models}
        self._restart_lock = asyncio.Lock()

    def _new_executors(self) -> list[ProcessPoolExecutor]:
        one_blas_thread()
        ctx = multiprocessing.get_context("spawn")
        return [
            ProcessPoolExecutor(
                max_workers=1, mp_context=ctx, initializer=_init_worker, initargs=(self.config,)
            )
            for _ in range(self.processes)
        ]

    def _new_langid(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_langid,
            initargs=(self.config.langid_accuracy,),
        )

    async def start(self, wait: bool = True) -> None:
        """Start the language process and every NER process; all load at once what they load
        at start (the language models; the gazetteers).

        With ``wait`` (the default) return once that is loaded; without, return now and let
        the first :meth:`analyze` wait (the worker consumes meanwhile). What fails to load then
        fails that first batch, and the pool is restarted like a broken one; an NER model
        that fails to load on the first text of its language fails that batch.
        """
        self.config.check()
        self._executors = self._new_executors()
        self._langid = self._new_langid()
        self.generation += 1
        self._ready = asyncio.ensure_future(self._hellos(self._executors, self._langid))
        if wait:
            await self._ready

    async def ready(self) -> None:
        """Return once every model of the current pool is loaded (raises if one failed)."""
        if self._ready is None:
            raise RuntimeError("NlpPool not started")
        await asyncio.shield(self._ready)

    async def _hellos(
        self, executors: list[ProcessPoolExecutor], langid: ProcessPoolExecutor
    ) -> None:
        loop = asyncio.get_running_loop()
        langid_pid, *answers = await asyncio.gather(
            loop.run_in_executor(langid, os.getpid),
            *(loop.run_in_executor(executor, os.getpid) for executor in executors),
        )
        self.pids = list(answers)
        self.langid_pid = langid_pid

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

    async def analyze(
        self, jobs: Sequence[Job], contexts: Sequence[Context] | None = None
    ) -> list[Outcome]:
        """Outcomes in the order of ``jobs``; the batch is spread over the NER processes by
        :func:`assign_processes`. ``contexts``: see :data:`Context` (None: every job alone).

        An unreachable NER server (:class:`NerUnavailable`) is not the articles' fault: the
        batch is retried with backoff (restarting the local CoreNLP service when it is ours
        and has died) until it answers, or until ``config.unavailable_wait`` seconds (0: no
        limit) have passed, when :class:`NerUnavailable` is raised. Nothing is dead-lettered
        or indexed without entities because of it.
        """
        waited, delay = 0.0, 1.0
        while True:
            try:
                return await self._analyze_once(jobs, _contexts(jobs, contexts))
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

    async def _analyze_once(self, jobs: Sequence[Job], contexts: list[Context]) -> list[Outcome]:
        """One try. Raises ``BrokenProcessPool`` if a process died during the batch; the pool
        has been replaced by then, so the caller can retry on the new one."""
        if self._executors is None and self._restart_lock.locked():
            async with self._restart_lock:  # a restart is under way: wait for the new pool
                pass
        executors, langid, generation = self._executors, self._langid, self.generation
        if executors is None or langid is None or self._ready is None:
            raise RuntimeError("NlpPool not started")
        if not jobs:
            return []
        loop = asyncio.get_running_loop()
        try:
            await asyncio.shield(self._ready)
            codes = await loop.run_in_executor(
                langid, _detect_many, [t for t, _ in jobs], contexts
            )
            detected: list[DetectedJob] = [
                (t, d, code, conf) for (t, d), (code, conf) in zip(jobs, codes, strict=True)
            ]
            homes = [self._homes.get(declared_code(d) or code) for _, d, code, _ in detected]
            parts = assign_processes([len(t or "") for t, _ in jobs], homes, len(executors))
            groups = [(p, g) for p, g in enumerate(parts) if g]
            answers = await asyncio.gather(*(
                loop.run_in_executor(executors[p], _run, [detected[i] for i in g])
                for p, g in groups
            ))
        except BrokenProcessPool:
            # A worker died (OOM kill, segfault): one fresh pool so the caller can retry.
            await self.restart(generation)
            raise
        except RuntimeError as exc:  # "cannot schedule new futures after shutdown"
            if executors is self._executors:
                raise
            raise BrokenProcessPool("the NER pool was replaced during this batch") from exc
        out: list[Outcome | None] = [None] * len(jobs)
        for (_, g), res in zip(groups, answers, strict=True):
            for i, outcome in zip(g, res, strict=True):
                out[i] = outcome
        return [o for o in out if o is not None]

    async def loaded_models(self) -> list[list[str]]:
        """Per NER process (in :attr:`pids` order), the ``lang:model`` backends it has loaded."""
        if self._executors is None:
            return []
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(
            *(loop.run_in_executor(executor, _loaded) for executor in self._executors)
        ))

    async def close(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        executors, langid = self._executors or [], self._langid
        self._executors, self._langid = None, None
        for executor in [*executors, *([langid] if langid is not None else [])]:
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
