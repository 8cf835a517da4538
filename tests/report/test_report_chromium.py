"""The report renders in a real browser, offline, with its images (headless Chromium).

The report holds no JavaScript. To read ``naturalWidth`` the test writes a test-only copy of the
page with a small script appended and reads the DOM Chromium dumps after loading it; the
screenshot is taken of the report itself.
"""

import re
import shutil
import subprocess

import pytest
from matplotlib.image import imread

from torchlvm.report import build_report

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed here (CI installs it: apt-get install chromium)",
)

PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images)
    img.setAttribute("data-natural", img.naturalWidth + "x" + img.naturalHeight);
});
</script>"""


def chromium(tmp_path, *args):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture
def report(make_run):
    return build_report([make_run()])


def test_images_load_with_their_natural_size(report, tmp_path):
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()).stdout
    sizes = re.findall(r'<img [^>]*data-natural="(\d+)x(\d+)"', dom)
    # samples, latent scatter (300×120 test PNGs), then the curves drawn from metrics.csv
    assert len(sizes) == 3 == dom.count("<img ")
    assert sizes[:2] == [("300", "120"), ("300", "120")]
    assert all(int(w) > 0 and int(h) > 0 for w, h in sizes)


def test_screenshot_shows_the_page_and_its_figures(report, tmp_path):
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2600", report.as_uri())
    pixels = imread(shot)[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    red = (pixels[..., 0] > 0.8) & (pixels[..., 1] < 0.2) & (pixels[..., 2] < 0.2)
    blue = (pixels[..., 2] > 0.8) & (pixels[..., 0] < 0.25) & (pixels[..., 1] < 0.35)
    # the two solid test figures (300×120 px each) are on screen
    assert red.sum() > 0.8 * 300 * 120
    assert blue.sum() > 0.8 * 300 * 120
