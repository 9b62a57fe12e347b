"""A first run: the catalog built from botocore's models once, and a Ctrl-C at any moment.

A newcomer's first ``awsprobe matrix`` builds its catalog (nothing is cached yet), asks
who the caller is, then probes. Ctrl-C in any of those moments ends the run with exit
130 and, with ``--save``, a matrix that loads (no results when nothing was probed yet,
``complete: false``) -- never no file.

The interrupt tests are deterministic: the CLI runs in a child interpreter through a
small wrapper (``_HOOKED``, below) that replaces one function with one that writes a
marker file and then sleeps; the test waits for the marker and only then sends SIGINT,
so the signal always lands in that moment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from awsprobe import catalog as catalog_mod
from awsprobe.catalog import dry_run_index, load_catalog
from awsprobe.matrix import Matrix

REPO = Path(__file__).resolve().parent.parent

# -- the catalog of a first run -------------------------------------------------------------


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A first run: no index and no entries on disk or in memory."""
    monkeypatch.setenv("AWSPROBE_CACHE_DIR", str(tmp_path))
    dry_run_index.cache_clear()
    catalog_mod._service_entries.cache_clear()
    yield tmp_path
    dry_run_index.cache_clear()
    catalog_mod._service_entries.cache_clear()


def test_a_first_run_naming_a_service_reads_its_model_once(
    empty_cache: Path, model_reads: list[str]
) -> None:
    """Indexing kms and building its entries share one read of kms's model (a cold run used
    to parse it twice: once to find its dry-run operations, once to build them)."""
    assert load_catalog(services="kms")
    assert model_reads == ["kms"]


@pytest.mark.parametrize("service", ["ec2", "kms"])
def test_entries_of_a_first_run_equal_those_built_on_botocores_own_service_model(
    service: str, empty_cache: Path
) -> None:
    """The one parse a first run makes gives the entries that botocore's
    ``Session.get_service_model`` (the model its clients use) gives, field by field."""
    entries = catalog_mod._service_entries(service)
    svc = dry_run_index()[service]
    model = botocore.session.get_session().get_service_model(service)
    expected = tuple(
        catalog_mod._entry(svc, model, op, member) for op, member in sorted(svc.operations.items())
    )
    assert entries == expected
    assert [dict(e.params) for e in entries] == [dict(e.params) for e in expected]


# -- Ctrl-C at any moment of a first run ---------------------------------------------------

#: Run ``awsprobe`` with hooks: argv[1] is JSON, a list of [module, attribute, marker file,
#: seconds]; each attribute (``Class.method`` allowed) becomes a function that writes its
#: marker, sleeps that long, then does the real work. argv[2:] are the CLI's arguments.
_HOOKED = """
import functools, importlib, json, sys, time
from pathlib import Path

def hook(module, attribute, marker, seconds):
    owner = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    real = getattr(owner, name)

    @functools.wraps(real)
    def held(*args, **kwargs):
        Path(marker).write_text("reached")
        time.sleep(seconds)
        return real(*args, **kwargs)

    setattr(owner, name, held)

for spec in json.loads(sys.argv[1]):
    hook(*spec)
from awsprobe.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _matrix_argv(save: Path) -> list[str]:
    return [
        "matrix",
        "--services",
        "ec2",
        "--regions",
        "us-east-1",
        "--endpoint-url",
        "http://127.0.0.1:9",  # never reached: every moment tested comes before a request
        "--output",
        "json",
        "--save",
        str(save),
    ]


def _wait_for(marker: Path, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{marker.name} never reached"
        time.sleep(0.01)


def _interrupted_run(
    tmp_path: Path, hooks: list[tuple[str, str, float]], signal_at: list[str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The CLI with ``hooks`` ((module, attribute, seconds)); SIGINT once each marker of
    ``signal_at`` (a hooked attribute) is reached, in order."""
    save = tmp_path / "first-run.json"
    specs = [[m, a, str(tmp_path / f"{a}.reached"), s] for m, a, s in hooks]
    env_cache = tmp_path / "cache"
    env_cache.mkdir()
    env = {**os.environ, "AWSPROBE_CACHE_DIR": str(env_cache)}
    process = subprocess.Popen(
        [sys.executable, "-c", _HOOKED, json.dumps(specs), *_matrix_argv(save)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for attribute in signal_at:
            _wait_for(tmp_path / f"{attribute}.reached", process)
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), save


def _assert_saved_nothing_probed(run: subprocess.CompletedProcess[str], save: Path) -> None:
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert "interrupted" in run.stderr.strip().splitlines()[-1]
    assert f"saved to {save}" in run.stderr
    matrix = Matrix.from_json(json.loads(save.read_text(encoding="utf-8")))
    assert matrix.complete is False
    assert matrix.results == ()
    assert matrix.regions == ("us-east-1",)
    assert Matrix.load(save) == matrix  # the loader the CLI's diff and --baseline use
    assert json.loads(run.stdout)["complete"] is False  # and the same matrix was printed


@pytest.mark.parametrize(
    ("module", "attribute"),
    [
        pytest.param("awsprobe.cli", "load_catalog", id="while-the-catalog-loads"),
        pytest.param("awsprobe.probing.orchestrate", "identify", id="while-asking-who-i-am"),
    ],
)
def test_ctrl_c_before_the_first_probe_saves_an_empty_incomplete_matrix(
    tmp_path: Path, module: str, attribute: str
) -> None:
    """Ctrl-C while the first run's catalog loads, or while STS is asked who the caller is:
    exit 130, one line, and --save wrote a matrix with no results and complete: false."""
    run, save = _interrupted_run(tmp_path, [(module, attribute, 60.0)], [attribute])
    _assert_saved_nothing_probed(run, save)


def test_a_second_ctrl_c_while_saving_does_not_cut_the_save(tmp_path: Path) -> None:
    """Ctrl-C while the catalog loads, then again while the matrix is being written: the
    second is held until the file is whole, so the saved matrix still loads."""
    run, save = _interrupted_run(
        tmp_path,
        [("awsprobe.cli", "load_catalog", 60.0), ("awsprobe.matrix", "Matrix.dumps", 1.0)],
        ["load_catalog", "Matrix.dumps"],
    )
    _assert_saved_nothing_probed(run, save)


_IMPORT_HELD = """
import sys, time
from pathlib import Path

MARKER = Path(sys.argv[1])

class Held:
    # finds nothing; only holds the import of one module, where Ctrl-C will land
    def find_spec(self, name, path=None, target=None):
        if name == "awsprobe.probing.orchestrate":
            MARKER.write_text("reached")
            time.sleep(60)
        return None

sys.meta_path.insert(0, Held())
sys.argv = ["awsprobe", *sys.argv[2:]]
from awsprobe.entry import main_entry
main_entry()
"""


def test_ctrl_c_while_the_command_line_itself_loads_still_saves(tmp_path: Path) -> None:
    """Ctrl-C during the ~0.2 s the console script spends importing the CLI (botocore, the
    runner), before any of the CLI's own handling exists: exit 130, one line, and --save
    wrote a matrix with no results and complete: false (nothing is printed on stdout)."""
    save = tmp_path / "first-run.json"
    marker = tmp_path / "import.reached"
    process = subprocess.Popen(
        [sys.executable, "-c", _IMPORT_HELD, str(marker), *_matrix_argv(save)],
        cwd=REPO,
        env={**os.environ, "AWSPROBE_CACHE_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(marker, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"awsprobe: interrupted; partial results saved to {save}"
    assert out == ""
    matrix = Matrix.load(save)
    assert (matrix.complete, matrix.results, matrix.regions) == (False, (), ("us-east-1",))


@pytest.mark.parametrize(
    ("argv", "saved"),
    [
        (["matrix", "--save", "{save}"], True),
        (["matrix", "--regions", "eu-west-1,all", "--save={save}"], True),
        (["matrix"], False),  # nothing to save
        (["check", "c.toml", "--save", "{save}"], False),  # a check saves only what it probed
        (["matrix", "--no-such-flag", "--save", "{save}"], False),  # not a command it ran
    ],
)
def test_an_interrupt_while_loading_saves_only_for_matrix_save(
    tmp_path: Path, argv: list[str], saved: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """The entry point's interrupt handling writes the empty matrix for ``matrix --save``
    only, and exits 130 whatever the command."""
    from awsprobe.entry import interrupted_while_loading

    save = tmp_path / "m.json"
    assert interrupted_while_loading([a.format(save=save) for a in argv]) == 130
    assert save.exists() is saved
    if saved:
        assert Matrix.load(save).complete is False
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("awsprobe: interrupted")
