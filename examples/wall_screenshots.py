"""Screenshots of the wall screen at the sizes operators use, for docs/wall/.

Serves a snapshots folder with ``carbon.dashboard.serve`` on a free loopback port and shoots it
in headless Chromium (Debian ``chromium`` + ``chromium-driver``): Chinese at 3840 x 2160,
1920 x 1080 and 1366 x 768, English at 1920 x 1080. The page is one 1920 x 1080 canvas scaled
to the window, so the three Chinese pictures differ only in resolution.

    python examples/wall_screenshots.py demo/snapshots            # make demo builds it
    python examples/wall_screenshots.py demo/snapshots --out docs/wall
    python examples/wall_screenshots.py demo/snapshots --view today   # the 今日 / Today view

The Today view needs ``today.json`` in the snapshots folder (``carbon demo`` writes one for the
last day of its data; ``carbon today STORE --out FOLDER`` another).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from carbon.dashboard.testing import chrome

SHOTS = (("zh", 3840, 2160), ("zh", 1920, 1080), ("zh", 1366, 768), ("en", 1920, 1080))
"""(language, width, height) of each picture [px]."""

SERVE = ("import sys; from carbon.dashboard.server import serve; "
         "serve(sys.argv[1], port=int(sys.argv[2]), threads=4)")

_IDLE = "document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"
READY = {
    "months": ("return " + _IDLE + " && !!document.querySelector('#ranking-graph .bars')"
               " && (document.getElementById('kpi-emissions-value').textContent || '').trim()"
               " !== ''"),
    "today": ("const g = document.querySelector('#today-curve .js-plotly-plot');"
              "return " + _IDLE + " && !!(g && g.data && g.data.length)"
              " && (document.getElementById('td-newest-value').textContent || '').trim() !== ''"),
}
"""What the page shows once drawn, per view (JavaScript returning a boolean)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshots", type=Path, help="a snapshots folder (with LATEST)")
    parser.add_argument("--out", type=Path, default=Path("docs/wall"), help="output folder")
    parser.add_argument("--view", choices=("months", "today"), default="months",
                        help="the monthly screen (wall_*.png) or the Today view (today_*.png)")
    args = parser.parse_args()
    ready = READY[args.view]
    query, prefix = ("view=today&", "today") if args.view == "today" else ("", "wall")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(args.snapshots), str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    driver = chrome(None)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the wall server did not start") from None
                time.sleep(0.3)
        args.out.mkdir(parents=True, exist_ok=True)
        for lang, width, height in SHOTS:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1,
                                    "mobile": False})
            driver.get(f"{url}?{query}lang={lang}")
            deadline = time.monotonic() + 30
            while not driver.execute_script(ready) and time.monotonic() < deadline:
                time.sleep(0.3)
            time.sleep(1.5)  # let plotly finish its transitions
            path = args.out / f"{prefix}_{lang}_{width}x{height}.png"
            driver.save_screenshot(str(path))
            print(path)
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
