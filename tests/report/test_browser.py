"""The report in a real browser: headless Chromium at a phone's width and a desktop's.

At 400 and 1280 CSS pixels the page never scrolls sideways (``scrollWidth <= innerWidth``) and
every image has loaded (``naturalWidth > 0``), for one run and for runs side by side. Chromium is
driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``: JSON messages
ended by a NUL byte on file descriptors 3 and 4), with the standard library only; the report
itself holds no script.
"""

import base64
import json
import os
import select
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread, imsave

from torchlvm.report import build_report

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed here (CI installs it: apt-get install chromium)",
)
#: CSS pixels: a phone held upright, and a laptop
WIDTHS = {"phone": 400, "desktop": 1280}
#: seconds to wait for one reply of the browser
TIMEOUT = 60

MEASURE = """JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  height: document.documentElement.scrollHeight,
  images: Array.from(document.images, (img) => [img.complete, img.naturalWidth]),
  wider: Array.from(document.querySelectorAll("body *"))
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
})"""


class Chromium:
    """A headless Chromium and its DevTools session, over a pipe."""

    def __init__(self, profile: Path):
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()

        def on_fds_3_and_4():  # in the child, before exec: what --remote-debugging-pipe reads
            read, write = os.dup(to_browser), os.dup(from_browser)  # clear of 3 and 4
            os.dup2(read, 3)
            os.dup2(write, 4)

        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--hide-scrollbars", "--remote-debugging-pipe",
                   f"--user-data-dir={profile}", "about:blank"]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            preexec_fn=on_fds_3_and_4,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0
        self._events: list[dict] = []

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._in], [], [], TIMEOUT)
            chunk = os.read(self._in, 1 << 16) if ready else b""
            if not chunk:
                raise RuntimeError("Chromium stopped answering on its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply)

    def wait_for(self, event: str, session: str) -> None:
        while True:
            for i, seen in enumerate(self._events):
                if seen.get("method") == event and seen.get("sessionId") == session:
                    del self._events[i]
                    return
            self._events.append(self._message())

    def open(self, path: Path, width: int) -> "Page":
        """``path`` loaded in a new tab whose viewport is ``width`` CSS pixels wide."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session, width)
        page.resize(900)
        self.send("Page.enable", session)
        self.send("Page.navigate", session, url=path.as_uri())
        self.wait_for("Page.loadEventFired", session)
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._in)
        os.close(self._out)


class Page:
    def __init__(self, browser: Chromium, session: str, width: int):
        self.browser, self.session, self.width = browser, session, width

    def resize(self, height: int) -> None:
        self.browser.send(
            "Emulation.setDeviceMetricsOverride", self.session,
            width=self.width, height=height, deviceScaleFactor=1, mobile=False,
        )  # fmt: skip

    def measure(self) -> dict:
        reply = self.browser.send(
            "Runtime.evaluate", self.session, expression=MEASURE, returnByValue=True
        )
        return json.loads(reply["result"]["value"])

    def screenshot(self, path: Path, height: int) -> np.ndarray:
        """The top ``height`` CSS pixels of the page as an (H, W, 3) array (also written)."""
        self.resize(height)
        data = self.browser.send("Page.captureScreenshot", self.session, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return imread(path)[..., :3]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    browser = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


@pytest.fixture
def reports(make_run, demo_metrics, config, tmp_path):
    """A report of one run and one of three side by side, with what makes pages overflow:
    long unbroken names and paths, wide tables, a figure far wider than a phone."""
    config["data"]["name"] = "a_dataset_file_with_a_long_name_and_no_spaces_in_it.npy"
    wide = (("samples", (1.0, 0.0, 0.0)), ("latent_scatter", (0.1, 0.2, 0.9)))
    runs = [
        make_run(name, metrics=demo_metrics, config=config, figures=wide)
        for name in ("vae-with-a-long-run-folder-name-0123456789", "cvae", "iwae-k5")
    ]
    strip = np.broadcast_to(np.array([0.2, 0.6, 0.2]), (300, 2400, 3)).copy()
    drawn = {"Software": "torchlvm"}  # as torchlvm marks its figures (2400 px: six phone widths)
    imsave(runs[0] / "figures" / "traversals.png", strip, metadata=drawn)
    return {
        "run": build_report(runs[:1]),
        "comparison": build_report(runs, tmp_path / "side-by-side.html"),
    }


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("kind", ["run", "comparison"])
def test_no_sideways_scroll_and_every_image_loaded(chromium, reports, kind, width):
    report = reports[kind]
    assert "<script" not in report.read_text(encoding="utf-8")
    page = chromium.open(report, width)
    seen = page.measure()
    assert seen["innerWidth"] == width
    assert seen["scrollWidth"] <= seen["innerWidth"], f"wider than the screen: {seen['wider']}"
    html_images = report.read_text(encoding="utf-8").count("<img ")
    assert len(seen["images"]) == html_images > 0
    assert all(complete and natural > 0 for complete, natural in seen["images"])


def test_screenshot_shows_the_page_and_its_figures(chromium, reports, tmp_path):
    page = chromium.open(reports["run"], WIDTHS["desktop"])
    pixels = page.screenshot(tmp_path / "shot.png", height=page.measure()["height"])
    assert pixels.std() > 0.05  # not a blank page
    red = (pixels[..., 0] > 0.8) & (pixels[..., 1] < 0.2) & (pixels[..., 2] < 0.2)
    blue = (pixels[..., 2] > 0.8) & (pixels[..., 0] < 0.25) & (pixels[..., 1] < 0.35)
    # the two solid test figures (300×120 px each) are on screen, at their size or larger
    assert red.sum() > 0.8 * 300 * 120
    assert blue.sum() > 0.8 * 300 * 120


CLIPPED = """JSON.stringify(Array.from(document.querySelectorAll("td, .note, .card *"))
  .filter((el) => el.getClientRects().length && el.scrollHeight > el.clientHeight + 1)
  .map((el) => el.textContent.slice(0, 80)))"""


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_no_text_is_cut_off(chromium, reports, width):
    """A metric's 'what it is' sentence defines the number (which standard error, over what):
    a reader, or a teacher printing the page, sees all of it, not two lines and an ellipsis."""
    page = chromium.open(reports["run"], width)
    reply = page.browser.send(
        "Runtime.evaluate", page.session, expression=CLIPPED, returnByValue=True
    )
    assert json.loads(reply["result"]["value"]) == []


TABLES = """JSON.stringify({
  scrolling: Array.from(document.querySelectorAll("table"))
    .filter((t) => t.scrollWidth > t.clientWidth + 1)
    .map((t) => t.className || "table"),
  offscreen: Array.from(document.querySelectorAll("td, th"))
    .filter((el) => el.getClientRects().length)
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 5)
    .map((el) => el.textContent.slice(0, 40)),
})"""


@pytest.mark.parametrize("width", [400, 640, 860, 1280])
def test_runs_side_by_side_read_without_scrolling_inside_a_table(chromium, reports, width):
    """On a phone the side-by-side tables scrolled sideways inside their box: the first run's
    column was cut in half and the third out of sight, so the page compared nothing at a glance;
    at 640 px three runs' columns ran off the page. Every table, opened, lies within the screen:
    side by side where the runs' columns fit, else stacked, each value labelled with its run."""
    page = chromium.open(reports["comparison"], width)
    page.browser.send(
        "Runtime.evaluate", page.session,
        expression="document.querySelectorAll('details').forEach((d) => { d.open = true; })",
    )  # fmt: skip
    reply = page.browser.send(
        "Runtime.evaluate", page.session, expression=TABLES, returnByValue=True
    )
    assert json.loads(reply["result"]["value"]) == {"scrolling": [], "offscreen": []}


BROKEN = """JSON.stringify(Array.from(document.querySelectorAll("table td, table th"))
  .filter((cell) => cell.getClientRects().length)
  .flatMap((cell) => {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    const broken = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.textContent.matchAll(/[^\\s-]+-?/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const tops = Array.from(range.getClientRects(), (r) => Math.round(r.top));
        if (new Set(tops).size > 1 && word[0].length <= WORD) broken.push(word[0]);
      }
    }
    return broken;
  }))""".replace("WORD", "24")
"""Words (runs of characters between spaces and after hyphens) of at most 24 characters, in a
table cell, that a line break splits: every word and number a metric's label or value holds
(the longest, 'importance-sampled', 'bits/dim;'); longer ones are names and paths, which may
break where their column is narrower."""


@pytest.mark.parametrize("width", [400, 860, 1280])
@pytest.mark.parametrize("kind", ["run", "comparison"])
def test_no_word_or_number_is_broken_where_it_fits_its_column(chromium, reports, kind, width):
    """userM #9: the side-by-side table of every metric left its label column a few letters
    wide (its cells may break anywhere, so their narrowest is one letter), and labels read
    'reconstructio / n', 'chance (always / the / most / frequent / class)' (measured in a
    real report of two runs at 1280 px); only a name or path longer than any word breaks."""
    page = chromium.open(reports[kind], width)
    page.browser.send(
        "Runtime.evaluate", page.session,
        expression="document.querySelectorAll('details').forEach((d) => { d.open = true; })",
    )  # fmt: skip
    reply = page.browser.send(
        "Runtime.evaluate", page.session, expression=BROKEN, returnByValue=True
    )
    assert json.loads(reply["result"]["value"]) == []
