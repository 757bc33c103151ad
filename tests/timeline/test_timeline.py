"""keel-sim --timeline pages, rendered by headless Chromium.

Runs `keel-sim --scenario cluster --seed 1 --duration 5s --timeline T.html`
(a passing run) and the same with `--inject-bug stale-read` on the first
seed from 1 that fails (a run with linearizability violations), opens each
page in headless Chromium (--dump-dom, after the page's script ran) and
checks the rendered DOM: the script finished (body data-rendered="yes") and
counted one lane per member, the client rows and every operation bar, and,
for the failing run, the operations its violations name outlined; no
script error reached the console. For the failing page, a copy with a
script appended that clicks a violation, zooms and hides the ok operations
shows the controls work, and a screenshot must come out as a PNG. Chromium
missing is a failure, not a skip: ci/install-deps installs it. Figures
(file sizes, render times) go to stderr.

    python3 tests/timeline/test_timeline.py --keel-sim build/sim/keel-sim \
        [--chromium /usr/bin/chromium]
"""

import html.parser
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

KEEL_SIM = None
CHROMIUM = "/usr/bin/chromium"
NODES = 3


# Appended to a copy of a failing page: uses the controls as a person would
# and leaves what happened in the body's data attributes.
INTERACTIONS = """<script>
document.querySelector('.violation-text').click();
document.getElementById('zoom-in').click();
document.getElementById('zoom-out').click();
document.querySelector('#controls input[data-hide="ok"]').click();
document.body.dataset.focused = document.querySelectorAll('rect.op.focus').length;
document.body.dataset.chartClass = document.getElementById('chart').getAttribute('class');
</script>
</body>"""


class DomSummary(html.parser.HTMLParser):
    """The body's attributes and the chart elements, from a DOM dump."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.lanes = []
        self.client_rows = 0
        self.ops = {}  # data-op -> class
        self.violation_ops = set()  # from the violation texts' data-ops
        self.ticks = []
        self.scale = None
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "") or ""
        if tag == "body":
            self.body = a
        elif tag == "g" and cls == "lane":
            self.lanes.append(a.get("data-member"))
        elif tag == "g" and cls == "client":
            self.client_rows += 1
        elif tag == "rect" and "data-op" in a:
            self.ops[a["data-op"]] = cls.split()
        elif tag == "div" and "violation-text" in cls.split():
            self.violation_ops.update(a.get("data-ops", "").split())
        elif tag == "text" and cls == "tick":
            self._in = "tick"
        elif tag == "span" and a.get("id") == "scale":
            self._in = "scale"

    def handle_data(self, data):
        if self._in == "tick":
            self.ticks.append(data)
        elif self._in == "scale":
            self.scale = data
        self._in = None


def run_sim(cwd, *args):
    cmd = [KEEL_SIM, "--scenario", "cluster", "--duration", "5s", *args]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    return proc, time.monotonic() - started


def chromium(cwd, *args):
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
           f"--user-data-dir={os.path.join(cwd, 'chromium-profile')}",
           "--enable-logging=stderr", "--v=0", *args]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    return proc, time.monotonic() - started


class TimelineTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK):
            raise AssertionError(
                f"{CHROMIUM} not found: the timeline test needs Chromium "
                f"(ci/install-deps installs the Debian package chromium)")
        cls.dir = tempfile.TemporaryDirectory(prefix="keel-timeline-")

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def render(self, page):
        """The DOM after the page's script ran, summarised."""
        proc, seconds = chromium(self.dir.name, "--dump-dom", "file://" + page)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        # Console errors (an exception in the page's script) are logged as
        # CONSOLE lines with "Uncaught".
        self.assertNotIn("Uncaught", proc.stderr, proc.stderr[-2000:])
        size = os.path.getsize(page)
        print(f"\n{os.path.basename(page)}: {size} bytes, headless render + DOM dump "
              f"{seconds:.2f}s, DOM {len(proc.stdout)} bytes", file=sys.stderr)
        dom = DomSummary()
        dom.feed(proc.stdout)
        return dom

    def check_chart(self, dom):
        body = dom.body
        self.assertEqual(body.get("data-rendered"), "yes", "the page's script did not finish")
        self.assertEqual(dom.lanes, [f"m{i}" for i in range(1, NODES + 1)])
        self.assertEqual(int(body["data-lanes"]), NODES)
        # 2 clients per member, 2 watchers and the final read.
        self.assertEqual(dom.client_rows, 2 * NODES + 3)
        self.assertEqual(int(body["data-clients"]), dom.client_rows)
        self.assertGreater(len(dom.ops), 100)
        self.assertEqual(int(body["data-ops"]), len(dom.ops))
        self.assertEqual(int(body["data-ok"]) + int(body["data-failed"]) +
                         int(body["data-unknown"]), len(dom.ops))
        self.assertGreater(int(body["data-ok"]), 0)
        # The script laid the chart out (it alone fills the scale) under an
        # axis from 0.
        self.assertRegex(dom.scale or "", r"^\d+ px/s$")
        self.assertRegex(dom.ticks[0] if dom.ticks else "", r"^0(\.0+)?s$")

    def test_passing_run_draws_lanes_and_operations(self):
        page = os.path.join(self.dir.name, "T.html")
        proc, seconds = run_sim(self.dir.name, "--seed", "1", "--timeline", page)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-2000:])
        self.assertIn("wrote timeline", proc.stdout)
        print(f"\nkeel-sim seed 1 with --timeline: {seconds:.2f}s", file=sys.stderr)
        dom = self.render(page)
        self.check_chart(dom)
        self.assertEqual(int(dom.body["data-violation-ops"]), 0)
        self.assertEqual(int(dom.body["data-violations"]), 0)

    def test_failing_run_outlines_the_violation_operations(self):
        page = os.path.join(self.dir.name, "F.html")
        for seed in range(1, 11):
            proc, seconds = run_sim(self.dir.name, "--seed", str(seed), "--inject-bug",
                                    "stale-read", "--timeline", page)
            if proc.returncode != 0:
                break
        self.assertEqual(proc.returncode, 1,
                         "no seed of 1..10 failed with --inject-bug stale-read\n" +
                         proc.stdout[-3000:] + proc.stderr[-2000:])
        self.assertIn("wrote timeline", proc.stdout)
        print(f"\nkeel-sim stale-read seed {seed} with --timeline: {seconds:.2f}s",
              file=sys.stderr)
        with open(page) as f:
            text = f.read()
        clicked = os.path.join(self.dir.name, "F-clicked.html")
        with open(clicked, "w") as f:
            f.write(text.replace("</body>", INTERACTIONS))
        dom = self.render(clicked)
        self.check_chart(dom)
        self.assertGreater(int(dom.body["data-violations"]), 0)
        self.assertTrue(dom.violation_ops)
        outlined = {op for op, cls in dom.ops.items() if "violation" in cls}
        self.assertEqual(outlined, dom.violation_ops)
        self.assertEqual(int(dom.body["data-violation-ops"]), len(outlined))
        # The first violation's operations are focused, the zoom came back
        # to where focusing put it, and the ok operations are hidden.
        self.assertGreater(int(dom.body["data-focused"]), 0)
        self.assertEqual(dom.scale, "2000 px/s")
        self.assertEqual(dom.body["data-chart-class"], "hide-ok")

        shot = os.path.join(self.dir.name, "F.png")
        proc, seconds = chromium(self.dir.name, "--window-size=1600,1000",
                                 f"--screenshot={shot}", "file://" + page)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        print(f"screenshot: {os.path.getsize(shot)} bytes in {seconds:.2f}s", file=sys.stderr)

    def test_seeds_are_refused(self):
        proc, _ = run_sim(self.dir.name, "--seeds", "1..3", "--timeline",
                          os.path.join(self.dir.name, "X.html"))
        self.assertEqual(proc.returncode, 2)
        self.assertRegex(proc.stderr, re.compile(r"--timeline draws one run"))


def main():
    global KEEL_SIM, CHROMIUM
    argv = list(sys.argv)
    for flag in ("--keel-sim", "--chromium"):
        if flag in argv:
            i = argv.index(flag)
            value = os.path.abspath(argv[i + 1])
            if flag == "--keel-sim":
                KEEL_SIM = value
            else:
                CHROMIUM = value
            del argv[i:i + 2]
    if KEEL_SIM is None:
        sys.exit("usage: test_timeline.py --keel-sim PATH [--chromium PATH] [unittest args]")
    unittest.main(module="__main__", argv=argv, verbosity=2)


if __name__ == "__main__":
    main()
