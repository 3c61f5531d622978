"""The explorer in a real JupyterLab, driven in a real Chromium.

A JupyterLab server is started on a free port with a random token in a temporary directory holding a
saved analysis of the bundled sample and a copy of ``notebooks/explore.ipynb`` pointed at it. Chromium
(the system package: ``scripts/system-deps.sh --browser``) is started with a DevTools port and driven
through playwright: open the notebook, run all cells (widget cells included: their ``skip-execution``
tag only concerns headless runs), check the widgets rendered, move the frame slider, rename an identity.
Both processes are stopped by their process groups in ``finally``. On failure a screenshot and the
page's text are saved next to the server's log and their paths are printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NEW_NAME = "Ada Lovelace"
STARTUP_S = 90  # server / browser start on a loaded 2-core CI box
RUN_ALL_S = 180  # kernel start, importing torch, the explorer's first frame, the static plots
WIDGET_S = 60  # one round trip through the kernel: decode and draw a frame, or save an edit

# the notebook on screen, with its kernel started and idle
KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const session = panel && panel.sessionContext;
  return !!(session && session.session && session.session.kernel && session.kernelDisplayStatus === 'idle');
}"""

# the text of the error outputs (exceptions, not warnings) of the notebook on screen
ERRORS = """() => {
  const cells = [...window.jupyterapp.shell.currentWidget.content.model.cells];
  const outputs = cells.filter(c => c.type === 'code').flatMap(c => [...Array(c.outputs.length).keys()].map(i => c.outputs.get(i)));
  return outputs.filter(o => o.type === 'error').map(o => o.toJSON().traceback.join('\\n'));
}"""

# the execution count of every code cell of the notebook on screen, from its model (JupyterLab renders only the cells in view)
EXECUTION_COUNTS = """() => [...window.jupyterapp.shell.currentWidget.content.model.cells].filter(c => c.type === 'code')
  .map(c => c.executionCount)"""

# every code cell of the notebook on screen has run and the kernel is idle, or a cell raised
ALL_RAN_OR_ERROR = f"""() => {{
  if (({ERRORS})().length) return true;
  const counts = ({EXECUTION_COUNTS})();
  return window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle' && counts.length > 0
    && counts.every(n => Number.isInteger(n) && n > 0);
}}"""

ALL_IMAGES_LOADED = "el => [...el.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"

# [naturalWidth, a digest of the pixels] of a loaded <img>, else null (blob: URLs are same-origin: no tainted canvas)
IMAGE_DIGEST = """img => {
  if (!img || !img.complete || img.naturalWidth === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 36;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0, 64, 36);
  const data = ctx.getImageData(0, 0, 64, 36).data;
  let digest = 0;
  for (let i = 0; i < data.length; i++) digest = (digest * 31 + data[i]) % 1000000007;
  return [img.naturalWidth, digest];
}"""


def _require_browser() -> None:
    reason = None
    if CHROMIUM is None:
        reason = "Chromium not installed (scripts/system-deps.sh --browser installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright not installed (it is in the dev dependency group)"
    if reason and os.environ.get("FACETOOLS_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason}; FACETOOLS_REQUIRE_ALL=1 forbids skipping")
    if reason:
        pytest.skip(reason)


def assert_renamed(run: Path, tracks: list[int], name: str) -> None:
    """The explorer saved ``name`` for the identity made of ``tracks``: as an edit (``edits.json``: name -> tracks,
    what later re-identifications keep) and in the re-identified ``identities.json``."""
    edits = json.loads((run / "edits.json").read_text())
    assert sorted(edits["names"].get(name, [])) == sorted(tracks), edits
    identities = json.loads((run / "identities.json").read_text())["identities"]
    assert [p["name"] for p in identities if set(p["tracks"]) & set(tracks)] == [name], identities


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen | None) -> None:
    """Stop a process started with ``start_new_session=True``: its process group, then any descendant left.

    Descendants are listed first: Jupyter starts kernels in sessions of their own, Chromium its helpers.
    """
    if proc is None:
        return
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        family = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # Jupyter shuts its kernels down on SIGTERM
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for child in family:
        with contextlib.suppress(psutil.Error):
            child.kill()
    proc.wait(10)


def _wait_until(check, timeout_s: float, what: str, proc: subprocess.Popen, log: Path):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(Exception):
            result = check()
            if result:
                return result
        time.sleep(0.25)
    raise AssertionError(f"{what}: not ready after {timeout_s} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def jupyter_lab(root: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A JupyterLab server on ``root``; yields its base URL with the token, and its process."""
    port, token = _free_port(), secrets.token_hex(16)
    home = root.parent / "jupyter"
    # the kernel "python3" that the notebooks ask for is this interpreter, whatever other kernels exist
    kernel = home / "path" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernel / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    # no "Would you like to get notified about official Jupyter news?" toast over the notebook
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))
    env = {
        **os.environ,
        "JUPYTER_PATH": str(home / "path"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: its commands and kernel state
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = root.parent / "server.log"
    proc = None
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        status = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
        _wait_until(lambda: urllib.request.urlopen(status, timeout=5).status == 200, STARTUP_S, "jupyter lab", proc, log)
        yield f"{url}/lab/tree/explore.ipynb?token={token}", proc
    finally:
        _stop(proc)


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[str]:
    """Headless Chromium with a DevTools port; yields the DevTools URL for playwright's connect_over_cdp."""
    profile.mkdir(parents=True)
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--window-size=1400,1100",
        "about:blank",
    ]
    log = profile.parent / "chromium.log"
    proc = None
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        port_file = profile / "DevToolsActivePort"
        port = _wait_until(lambda: port_file.read_text().split()[0], STARTUP_S, "chromium", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Skip (or fail under FACETOOLS_REQUIRE_ALL=1) before the sample is analysed when there is no browser to drive."""
    _require_browser()


def _explore_notebook(root: Path, run: Path) -> Path:
    """``root/explore.ipynb`` pointed at the run directory ``run``; returns ``root``."""
    nb = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    (parameters,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    parameters.source = f"analysis_dir = {str(run)!r}\n"
    nbformat.write(nb, root / "explore.ipynb")
    return root


@pytest.fixture
def lab_dir(browser_ready: None, sample_analysis, tmp_path: Path) -> Path:  # noqa: ANN001 - Analysis
    """A folder with the sample's saved run and explore.ipynb pointed at it."""
    root = tmp_path / "lab"
    sample_analysis.save(root / "run")
    return _explore_notebook(root, root / "run")


@contextlib.contextmanager
def _page(lab: Path, tmp_path: Path):  # noqa: ANN202 - yields a playwright Page
    """A Chromium page on JupyterLab serving ``lab``; on failure a screenshot and the page's text are saved."""
    from playwright.sync_api import sync_playwright

    with jupyter_lab(lab) as (url, _server), chromium(tmp_path / "profile") as devtools, sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(devtools)
        page = browser.contexts[0].pages[0] if browser.contexts and browser.contexts[0].pages else browser.new_page()
        page.set_default_timeout(STARTUP_S * 1000)
        try:
            yield page, url
        except BaseException:
            shot, text = tmp_path / "lab_failure.png", tmp_path / "lab_failure.txt"
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shot), full_page=True)
            with contextlib.suppress(Exception):
                text.write_text(page.inner_text("body"))
            print(f"\nJupyterLab failure: screenshot {shot}, page text {text}, server log {tmp_path / 'server.log'}")
            raise
        finally:
            with contextlib.suppress(Exception):
                browser.close()


def test_explorer_in_jupyterlab(lab_dir: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    run = lab_dir / "run"
    first = json.loads((run / "identities.json").read_text())["identities"][0]["tracks"]  # the dropdown's first
    with _page(lab_dir, tmp_path) as (page, url):
        explorer = _drive(page, expect, url, run, first)
        if os.environ.get("FACETOOLS_LAB_SCREENSHOT"):  # a picture of the explorer at work, e.g. for a README
            page.set_viewport_size({"width": 1400, "height": 1800})
            page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")
            explorer.evaluate("el => el.scrollIntoView({block: 'start'})")
            page.wait_for_function(ALL_IMAGES_LOADED, arg=explorer.element_handle())
            page.screenshot(path=os.environ["FACETOOLS_LAB_SCREENSHOT"])


def test_explorer_answers_a_suggestion(browser_ready: None, split_person: tuple[Path, dict], tmp_path: Path) -> None:
    """The review panel shows the split person's pair with their faces; "Yes" saves a merge and re-identifies."""
    from playwright.sync_api import expect

    root = tmp_path / "lab"
    run = Path(shutil.copytree(split_person[0], root / "run"))
    before = json.loads((run / "identities.json").read_text())
    top = before["suggestions"][0]
    tracks = sorted(t for p in before["identities"] if p["id"] in (top["a"], top["b"]) for t in p["tracks"])
    with _page(_explore_notebook(root, run), tmp_path) as (page, url):
        explorer = _open(page, expect, url)
        review = explorer.locator(".widget-vbox", has=page.locator(".widget-html", has_text="Same person?")).last
        expect(review.locator(".widget-html")).to_contain_text(top["evidence"])
        expect(review.locator("img.widget-image")).not_to_have_count(0)  # the two rows of faces
        page.wait_for_function(ALL_IMAGES_LOADED, arg=review.element_handle())
        review.get_by_role("button", name="Yes", exact=True).click()
        expect(explorer.locator(".widget-label", has_text="one person (saved)")).to_be_visible()
    edits = json.loads((run / "edits.json").read_text())
    assert tracks in [sorted(g) for g in edits["must_link"]], edits
    after = json.loads((run / "identities.json").read_text())
    assert len(after["identities"]) == len(before["identities"]) - 1
    assert any(sorted(p["tracks"]) == tracks for p in after["identities"]), after["identities"]


def _open(page, expect, url: str):  # noqa: ANN001, ANN201 - playwright Page, expect, Locator
    """Open the notebook, run all cells, check no cell failed; returns the explorer's widget box."""
    page.goto(url)
    expect(page.locator(".jp-NotebookPanel .jp-CodeCell").first).to_be_visible()
    page.wait_for_function(KERNEL_IDLE)
    expect.set_options(timeout=WIDGET_S * 1000)
    # Run > Run All Cells, through the command the menu item runs (not awaited: page.evaluate has no timeout)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(ALL_RAN_OR_ERROR, timeout=RUN_ALL_S * 1000)
    errors = page.evaluate(ERRORS)
    assert not errors, re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors))[-3000:]  # tracebacks without colours
    counts = page.evaluate(EXECUTION_COUNTS)
    assert counts and all(isinstance(n, int) and n > 0 for n in counts), counts
    explorer = page.locator(".jp-OutputArea-output > .jupyter-widgets.widget-vbox", has=page.locator(".widget-slider"))
    expect(explorer).to_have_count(1)
    return explorer


def _drive(page, expect, url: str, run: Path, first: list[int]):  # noqa: ANN001, ANN201 - playwright Page, expect, Locator
    """Open the notebook, run all cells, check the explorer rendered, move its slider, rename; returns the explorer."""
    # positive evidence of rendered widgets: the explorer's box with a slider, a decoded frame image
    explorer = _open(page, expect, url)
    slider = explorer.locator(":scope > .widget-slider", has=page.locator("label", has_text=re.compile("^frame$")))
    handle = slider.locator(".noUi-handle")
    expect(handle).to_be_visible()
    readout = slider.locator(".widget-readout")
    frame = explorer.locator(":scope > img.widget-image").first  # the frame comes first; the timeline later
    expect(frame).to_have_count(1)
    page.wait_for_function(IMAGE_DIGEST, arg=frame.element_handle())
    width, before = page.evaluate(IMAGE_DIGEST, frame.element_handle())
    assert width > 0
    page.wait_for_function(ALL_IMAGES_LOADED, arg=explorer.element_handle())  # the frame, the timeline, the gallery
    expect(explorer.locator(".widget-label", has_text=re.compile("^person"))).not_to_have_count(0)  # gallery labels
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
    for leftover in ("Error displaying widget", "Loading widget...", "Traceback"):
        assert leftover not in notebook.inner_text(), leftover

    # move the frame slider from the keyboard: the kernel draws another frame
    src = frame.get_attribute("src")
    handle.focus()
    handle.press("PageUp")  # one change (continuous_update=False): one redraw, none left in flight for the rename below
    expect(readout).not_to_have_text("0")
    target = int(readout.inner_text())
    expect(handle).to_have_attribute("aria-valuetext", str(target))
    expect(frame).not_to_have_attribute("src", src)
    page.wait_for_function(IMAGE_DIGEST, arg=frame.element_handle())
    width, after = page.evaluate(IMAGE_DIGEST, frame.element_handle())
    assert width > 0 and after != before, f"frame {target} shows the same picture as frame 0"

    # pick the first identity, rename it, and find the name saved on disk
    person = explorer.locator(".widget-dropdown", has=page.locator("label", has_text=re.compile("^identity$"))).locator("select")
    person.select_option(index=0)
    expect(person).to_have_value(re.compile(r"\(\d+\.\d s\)$"))
    explorer.locator(".widget-text", has=page.locator("label", has_text="new name")).locator("input").fill(NEW_NAME)
    src = frame.get_attribute("src")
    explorer.get_by_role("button", name="rename", exact=True).click()
    expect(explorer.locator(".widget-label", has_text=f"to {NEW_NAME} (saved)")).to_be_visible()
    expect(explorer.locator(".widget-label", has_text=re.compile(f"^{NEW_NAME}$"))).to_be_visible()  # the gallery
    assert_renamed(run, first, NEW_NAME)  # the status line says "(saved)" once the files are written
    expect(frame).not_to_have_attribute("src", src)  # the frame redrawn with the new labels
    page.wait_for_function(ALL_IMAGES_LOADED, arg=explorer.element_handle())
    return explorer
