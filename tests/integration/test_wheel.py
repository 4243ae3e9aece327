"""The wheel, installed outside the repository, works as a checkout does.

Why: the code once read its schemas through a path relative to the source tree, so a plain
``pip install`` dead-lettered every article. This test builds the wheel from the files git
would clone (tracked plus new, ignored ones left out), installs it into a fresh virtualenv in
a temporary directory and runs the commands from there: validation, enrichment, the setup
plan and the configuration. The heavy dependencies (spaCy, models, Faust) are borrowed from
the project's virtualenv through a ``.pth`` line placed AFTER the fresh site-packages, so
``streams`` itself can only come from the wheel (asserted below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

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


def _run(inst: dict[str, Path], *argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSSTREAM_", "PYTHON"))}
    env.update(
        HOME=str(inst["home"]), XDG_DATA_HOME=str(inst["home"] / "data"),
        NEWSSTREAM_NLP_PROCESSES="1", NEWSSTREAM_LANGID_ACCURACY="low",
    )  # fmt: skip
    return subprocess.run(
        [str(inst["bin"] / "newsstream"), *argv], input=stdin, cwd=inst["cwd"], env=env,
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip


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
