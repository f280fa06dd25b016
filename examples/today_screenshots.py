"""Screenshots of the wall's 今日 / Today view at the sizes operators use, for docs/wall/.

Serves a snapshots folder holding ``today.json`` (``carbon demo`` writes one for the last day
of its data; ``carbon today STORE --out FOLDER`` another) with ``carbon.dashboard.serve`` on a
free loopback port and shoots ``?view=today`` in headless Chromium (Debian ``chromium`` +
``chromium-driver``): Chinese at 3840 x 2160, 1920 x 1080 and 1366 x 768, English at
1920 x 1080.

    python examples/today_screenshots.py demo/snapshots --out docs/wall
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from carbon.dashboard.testing import CHROMIUM, CHROMIUM_FLAGS

SHOTS = (("zh", 3840, 2160), ("zh", 1920, 1080), ("zh", 1366, 768), ("en", 1920, 1080))
"""(language, width, height) of each picture [px]."""

SERVE = (
    "import sys; from carbon.dashboard.server import serve; "
    "serve(sys.argv[1], port=int(sys.argv[2]), threads=4)"
)

READY = (
    "const g = document.querySelector('#today-curve .js-plotly-plot');"
    "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"
    " && !!(g && g.data && g.data.length)"
    " && (document.getElementById('td-newest-value').textContent || '').trim() !== ''"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshots", type=Path, help="a snapshots folder with today.json")
    parser.add_argument("--out", type=Path, default=Path("docs/wall"), help="output folder")
    parser.add_argument("--prefix", default="today", help="file name prefix")
    args = parser.parse_args()
    from selenium import webdriver

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(args.snapshots), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the wall did not start") from None
                time.sleep(0.3)
        args.out.mkdir(parents=True, exist_ok=True)
        for lang, width, height in SHOTS:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            driver.get(f"{url}?view=today&lang={lang}")
            deadline = time.monotonic() + 60
            while not driver.execute_script(READY):
                if time.monotonic() > deadline:
                    raise SystemExit(f"the Today view did not draw at {width} x {height}")
                time.sleep(0.3)
            time.sleep(1.0)  # let plotly finish its transitions
            path = args.out / f"{args.prefix}_{lang}_{width}x{height}.png"
            driver.save_screenshot(str(path))
            print(path)
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
