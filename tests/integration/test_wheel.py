"""The wheel, installed outside the repository, works as a checkout does.

Why: the code once read its schemas through a path relative to the source tree, so a plain
``pip install`` dead-lettered every article. This test builds the wheel from the files git
would clone (tracked plus new, ignored ones left out), installs it into a fresh virtualenv in
a temporary directory and runs the commands from there, with the working directory outside
the repository: validation, enrichment, the setup plan, the configuration, and the real
pipeline (``setup`` against the running Elasticsearch and Kafka, ``produce``, the worker)
until the articles are searchable and the invalid one is a dead letter.

The wheel is built and installed once per module, the way the Dockerfile does it (``pip
wheel --no-deps --no-build-isolation``, then ``pip install --no-deps`` of that file). The
dependencies are not installed a second time (the hash-checked runtime lock means
downloading spaCy, its models and Faust again, minutes per run): they are borrowed from
the project's virtualenv, which ``make install`` filled from the hash-locked
``requirements/dev-lock.txt``, through a ``.pth`` line placed AFTER the fresh
site-packages, so ``streams`` itself can only come from the wheel (asserted below), and
every runtime dependency is checked to be installed at the version
``requirements/lock.txt`` (the image's lock) pins.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest

from streams import dlq, procs, settings
from tests.integration.conftest import free_port, new_namespace, read_topic, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _source_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    )  # fmt: skip
    return [p for p in out.stdout.decode().split("\0") if p and (ROOT / p).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh venv outside the repository with only the newsstream wheel installed in it."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files a clone has")
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents
    src = base / "src"
    for rel in _source_files():
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(dist), str(src)],
        check=True, cwd=base,
    )  # fmt: skip
    (wheel,) = dist.glob("newsstream-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        check=True, cwd=base,
    )  # fmt: skip
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )
    # dependencies only: this site-packages holds no `streams` (the project install is editable)
    (site / "zz_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return {"python": py, "bin": venv / "bin", "site": site, "home": base / "home", "cwd": base}


def _env(inst: dict[str, Path], extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a user of the wheel: no project variables, a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSSTREAM_", "PYTHON"))}
    env.update(
        HOME=str(inst["home"]), XDG_DATA_HOME=str(inst["home"] / "data"),
        NEWSSTREAM_NLP_PROCESSES="1", NEWSSTREAM_LANGID_ACCURACY="low",
    )  # fmt: skip
    env.update(extra or {})
    return env


def _run(
    inst: dict[str, Path], *argv: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(inst["bin"] / "newsstream"), *argv], input=stdin, cwd=inst["cwd"],
        env=_env(inst, env), capture_output=True, timeout=300, check=False,
    )  # fmt: skip


def _lock_pins(name: str) -> dict[str, set[str]]:
    """package -> the versions a uv lock file pins (one per environment marker)."""
    pins: dict[str, set[str]] = {}
    text = (ROOT / "requirements" / name).read_text()
    for m in re.finditer(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", text, re.M):
        pins.setdefault(re.sub(r"[-_.]+", "-", m.group(1)).lower(), set()).add(m.group(2))
    return pins


def test_the_borrowed_dependencies_are_the_runtime_lock(installed: dict[str, Path]) -> None:
    """What the wheel runs on here is what the Docker image installs from requirements/lock.txt."""
    pins = _lock_pins("lock.txt")
    assert "faust-streaming" in pins and "spacy" in pins
    wrong = {}
    for name, versions in pins.items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = "missing"  # a marker may exclude it on this platform: pip check says
        if have not in versions and have != "missing":
            wrong[name] = (versions, have)
    assert wrong == {}, "the project venv differs from the lock: run `make install`"
    # the fresh venv (the wheel plus the borrowed packages) has every requirement it declares
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(installed["python"]), "check"],
        cwd=installed["cwd"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_streams_is_imported_from_the_wheel(installed: dict[str, Path]) -> None:
    out = subprocess.run(
        [str(installed["python"]), "-c",
         "import streams, streams.schemas, streams.devservices.jvm as j; "
         "print(streams.__file__); print(j.__file__)"],
        cwd=installed["cwd"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in out.stdout.split():
        assert Path(line).is_relative_to(installed["site"]), line


def test_enrich_validates_and_enriches_from_the_wheel(installed: dict[str, Path]) -> None:
    lines = (ROOT / "examples" / "articles.jsonl").read_bytes().splitlines()
    english = [ln for ln in lines if json.loads(ln).get("language") == "en"][:2]
    russian = [ln for ln in lines if json.loads(ln).get("language") == "ru"][:1]
    bad = b'{"title": "no id and no url"}'
    done = _run(installed, "enrich", "-q", stdin=b"\n".join([*english, *russian, bad]) + b"\n")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    docs = [json.loads(ln) for ln in done.stdout.splitlines()]
    assert len(docs) == 3
    assert [d["language"] for d in docs] == ["en", "en", "ru"]
    assert all(d["persons"] or d["organizations"] or d["locations"] for d in docs)
    assert b"line 4" in done.stderr  # the invalid record is refused by the packaged schema


def test_setup_plan_from_the_packaged_schemas(installed: dict[str, Path]) -> None:
    done = _run(installed, "setup", "--dry-run")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    out = done.stdout.decode()
    assert "would ensure index template articles: patterns ['articles-*']" in out
    assert "would ensure write alias articles -> articles-000001" in out
    assert "topic articles.dlq" in out


def test_state_defaults_to_a_user_data_dir_when_installed(installed: dict[str, Path]) -> None:
    done = _run(installed, "config")
    assert done.returncode == 0, done.stderr.decode()
    values = dict(ln.split("    #")[0].split("=", 1) for ln in done.stdout.decode().splitlines())
    data = installed["home"] / "data" / "newsstream"
    assert values["NEWSSTREAM_SERVICES_DIR"] == str(data)
    assert values["NEWSSTREAM_DATA_DIR"] == str(data / "faust")


# --- the real pipeline, from the wheel ---------------------------------------------------


def _sample_articles(n: int) -> list[bytes]:
    """``n`` English sample articles with distinct urls and bodies (each becomes a document)."""
    seen: set[str] = set()
    out: list[bytes] = []
    for line in (ROOT / "examples" / "articles.jsonl").read_bytes().splitlines():
        art = json.loads(line)
        if art.get("language") == "en" and not {art["url"], art["body"][:200]} & seen:
            seen |= {art["url"], art["body"][:200]}
            out.append(line)
        if len(out) == n:
            break
    return out


def test_the_wheel_runs_the_pipeline_into_elasticsearch(
    installed: dict[str, Path], services: settings.Settings, tmp_path: Path
) -> None:
    ns = new_namespace(
        "whl", tmp_path,
        NEWSSTREAM_KAFKA_BOOTSTRAP=services.kafka_bootstrap, NEWSSTREAM_ES_URL=services.es_url,
        NEWSSTREAM_WEB_PORT=str(free_port()), NEWSSTREAM_LOG_FORMAT="text",
    )  # fmt: skip
    s = ns.settings()
    setup = _run(installed, "setup", env=ns.env)
    assert setup.returncode == 0, setup.stderr.decode()[-2000:]

    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [str(installed["bin"] / "newsstream"), "worker", "--loglevel", "info"],
        cwd=installed["cwd"], env=_env(installed, ns.env), stdout=log.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True, umask=0o022,
    )  # fmt: skip

    def tail() -> str:
        return "\n".join(log.read_text(errors="replace").splitlines()[-60:])

    try:
        health = f"http://127.0.0.1:{s.web_port}/health"

        def healthy() -> bool:
            assert worker.poll() is None, f"worker exited with {worker.returncode}:\n{tail()}"
            try:
                return urllib.request.urlopen(health, timeout=2).status == 200
            except OSError:
                return False

        wait_for(healthy, 180, "the wheel's worker to answer /health")
        # its table stores hold article text: owner only, whatever the umask says
        datadir = Path(ns.env["NEWSSTREAM_DATA_DIR"])
        assert stat.S_IMODE(datadir.stat().st_mode) == 0o700, oct(datadir.stat().st_mode)

        good = _sample_articles(3)
        src = tmp_path / "articles.jsonl"
        src.write_bytes(b"\n".join(good) + b"\n")
        produced = _run(installed, "produce", str(src), env=ns.env)
        assert produced.returncode == 0, produced.stderr.decode()[-2000:]
        # a record `produce` would refuse, sent raw as any other producer could: the worker
        # must refuse it with the schema the wheel ships
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
        bad = b'{"url": "https://wheel.example/refused", "tags": ["no title, no text"]}'
        producer.send(s.topic_articles, key=b"refused", value=bad).get(timeout=60)
        producer.close()

        from streams.index.es_client import make_client

        es = make_client(s)

        def indexed() -> bool:
            assert worker.poll() is None, f"worker exited with {worker.returncode}:\n{tail()}"
            es.indices.refresh(index=s.es_alias)
            return int(es.count(index=s.es_alias)["count"]) == len(good)

        wait_for(indexed, 240, f"{len(good)} documents indexed by the wheel's worker")
        urls = {json.loads(raw)["url"] for raw in good}
        hits = es.search(index=s.es_alias, query={"match_all": {}}, size=10)["hits"]["hits"]
        assert {h["_source"]["url"] for h in hits} == urls
        # enriched by the models the worker loaded (a sample may be detected as another
        # language, with no NER model of its own: only those detected English are judged)
        english = [h["_source"] for h in hits if h["_source"]["language"] == "en"]
        assert english and all(d["entities"] and (d["persons"] or d["organizations"]
                                                  or d["locations"]) for d in english)  # fmt: skip
        title = json.loads(good[0])["title"]
        found = es.search(index=s.es_alias, query={"match": {"title": title}}, size=1)
        assert found["hits"]["hits"][0]["_source"]["title"] == title

        letters = wait_for(lambda: read_topic(s, s.topic_dlq), 60, "the refused record in the DLQ")
        assert isinstance(letters, list) and len(letters) == 1
        envelope = dlq.decode_envelope(letters[0].value)
        assert (envelope["stage"], envelope["reason"]) == ("validate", "schema"), envelope
        assert dlq.original_bytes(envelope) == bad
    finally:
        # no sweep: the NER processes must leave with the worker on their own
        code = procs.stop_process(worker, timeout=60, sweep=False)
    assert code == 0, f"worker exit code {code} (SIGKILL after 60 s: -9):\n{tail()}"
    wait_for(lambda: not procs.group_alive(worker.pid), 30,
             "the worker's NER processes to leave with it")
