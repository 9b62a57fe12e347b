"""The HTML report in a real browser: headless Chromium renders it with no console errors.

Needs Debian's ``chromium`` (``.ci/run`` installs it); skipped with a clear reason when
the browser is absent. The test itself installs nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from awsprobe.report import render
from tests.test_golden import FIXED

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1200,900",
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)


def _screenshot(page: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """Open ``page`` headless; return the screenshot and the console lines Chromium logged."""
    shot = tmp_path / f"{page.stem}.png"
    done = subprocess.run(
        [
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return shot, console


def test_html_report_renders_without_console_errors(tmp_path: Path) -> None:
    """The self-contained report loads, logs nothing to the console, and a screenshot is made."""
    page = tmp_path / "matrix.html"
    page.write_text(render(FIXED, "html"), encoding="utf-8")
    shot, console = _screenshot(page, tmp_path)
    assert console == []
    assert shot.stat().st_size > 10_000  # a real picture, not an empty canvas
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_console_check_would_catch_an_error(tmp_path: Path) -> None:
    """Control: a page that logs console.error is seen by the same check."""
    page = tmp_path / "broken.html"
    page.write_text("<script>console.error('awsprobe-control')</script>", encoding="utf-8")
    _, console = _screenshot(page, tmp_path)
    assert any("awsprobe-control" in line for line in console)
