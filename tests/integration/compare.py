"""A TestCase that runs each etcdctl command against keel and real etcd.

Each test class gets two fresh three-member clusters, one of etcd 3.4 and one
of keel, started with the same flags. A test runs a sequence of commands
through both() (and background watches through watch_both()); each command
runs first against etcd, then against keel, so both clusters see the same
data in the same order, and their normalised outputs (exit code, stdout,
stderr) must be equal. A mismatch is recorded as a subTest failure and the
sequence goes on, so one run reports every difference.

Commands go to one member at a time, rotating infra1, infra2, infra3, the
same rotation on both clusters: the response headers then name the same
member, and writes reach the leader both directly and through followers.
"""

import os
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest

import harness
import normalize

_LEASE_REF = re.compile(r"\{lease(\d+)\}")


def plain(n, text):
    return n.text(text)


class CompareTestCase(unittest.TestCase):
    EXTRA_FLAGS = ()
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="keel-integ-")
        cls.etcd = harness.Cluster("etcd", cls.workdir, cls.EXTRA_FLAGS)
        cls.keel = harness.Cluster("keel", cls.workdir, cls.EXTRA_FLAGS)
        try:
            cls.etcd.start(wait=False)
            cls.keel.start(wait=False)
            cls.etcd.wait_healthy(cls.etcd.members)
            cls.keel.wait_healthy(cls.keel.members)
            cls.norms = {}
            for c in (cls.etcd, cls.keel):
                n = normalize.Normalizer(c)
                n.add_members(c.member_ids(), c.cluster_id())
                cls.norms[c.flavor] = n
        except BaseException:
            cls._stop_clusters()
            raise
        cls.step = 0

    @classmethod
    def tearDownClass(cls):
        cls._stop_clusters()

    @classmethod
    def _stop_clusters(cls):
        for c in (getattr(cls, "etcd", None), getattr(cls, "keel", None)):
            if c is not None:
                c.stop()
        if os.environ.get("KEEL_INTEG_KEEP"):
            print(f"kept {cls.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def tearDown(self):
        # A crashed member shows up as an error with its log, not as a
        # cascade of connection-refused mismatches only.
        for c in (self.etcd, self.keel):
            c.check_alive()

    # --- helpers ---------------------------------------------------------

    def clusters(self):
        return (self.etcd, self.keel)

    def norm(self, cluster):
        return self.norms[cluster.flavor]

    def _members(self, cluster, member):
        if member == "all":
            return None
        return [cluster.members[member]]

    def _next_member(self, member):
        if member is None:
            member = type(self).step % harness.Cluster.SIZE
            type(self).step += 1
        return member

    def _resolve(self, cluster, args):
        n = self.norm(cluster)
        return [_LEASE_REF.sub(lambda m: n.lease_hex(int(m.group(1))), a) for a in args]

    def both(self, *args, stdin=None, member=None, shape=plain, err_shape=None,
             expect_rc=None, timeout=20.0):
        """Runs etcdctl args on etcd then keel; checks normalised equality.

        member: an index (0-2), "all" for every endpoint, or None to rotate.
        shape(normalizer, stdout) normalises stdout (default: plain ids and
        ports); stderr always gets the plain normalisation. expect_rc, when
        given, is checked against etcd's exit code, to catch a test sequence
        that does not do on etcd what it means to. Returns the raw Results.
        """
        member = self._next_member(member)
        results = {}
        for c in self.clusters():
            results[c.flavor] = c.ctl(*self._resolve(c, args), stdin=stdin,
                                      members=self._members(c, member), timeout=timeout)
        label = "etcdctl " + " ".join(a if len(a) < 60 else a[:20] + f"...({len(a)} bytes)"
                                      for a in args)
        if stdin is not None:
            label += f" <<< {stdin[:60]!r}"
        self.compare(label, results, shape, err_shape)
        if expect_rc is not None:
            with self.subTest(label + " (etcd's exit code)"):
                    self.assertEqual(results["etcd"].rc, expect_rc,
                                 f"{label}: etcd itself did not behave as the test "
                                 f"expects: {results['etcd']}")
        return results["etcd"], results["keel"]

    def render(self, cluster, result, shape, err_shape=None):
        n = self.norm(cluster)
        try:
            out = shape(n, result.out)
        except (ValueError, KeyError, IndexError) as e:
            out = f"(could not normalise: {e})\n{n.text(result.out)}"
        err = (err_shape or plain)(n, result.err)
        return f"exit {result.rc}\n--- stdout\n{out}--- stderr\n{err}"

    def compare(self, label, results, shape=plain, err_shape=None):
        want = self.render(self.etcd, results["etcd"], shape, err_shape)
        got = self.render(self.keel, results["keel"], shape, err_shape)
        if os.environ.get("KEEL_INTEG_SHOW"):
            print(f"\n=== {label}\n{got}", file=sys.stderr)
        with self.subTest(label):
            self.assertEqual(want, got, f"{label}: keel (second) differs from etcd (first)")

    # --- background watches --------------------------------------------

    def watch_both(self, *args, member=None, interactive=False):
        """Starts `etcdctl watch args` on both clusters; returns handles.

        interactive starts `watch -i` with a stdin pipe: feed it with
        send_watch(), and finish_watch() closes it (etcdctl exits on EOF).
        """
        member = self._next_member(member)
        handles = []
        for c in self.clusters():
            path = os.path.join(self.workdir, f"watch-{c.flavor}-{time.monotonic_ns()}")
            proc = c.ctl_background("watch", *self._resolve(c, args),
                                    members=self._members(c, member), out_path=path,
                                    stdin_pipe=interactive)
            handles.append((c, proc, path))
        return (" ".join(("etcdctl watch",) + args), handles)

    def send_watch(self, watch, line):
        """Writes one command line to both interactive watches."""
        for c, proc, path in watch[1]:
            proc.stdin.write((line + "\n").encode())
            proc.stdin.flush()

    def wait_watch_output(self, watch, text, timeout=15.0):
        """Waits until each watch's stdout holds text; False on timeout."""
        deadline = time.monotonic() + timeout
        for c, proc, path in watch[1]:
            while True:
                with open(path, "rb") as f:
                    if text.encode() in f.read():
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    return False
                time.sleep(0.02)  # polling a real process's output file
        return True

    def finish_watch(self, watch, until=None, timeout=15.0, shape=plain):
        """Waits until each watch printed `until` (or exited), stops it, compares."""
        label, handles = watch
        deadline = time.monotonic() + timeout
        results = {}
        for c, proc, path in handles:
            while True:
                with open(path, "rb") as f:
                    out = f.read().decode(errors="replace")
                if (until is not None and until in out) or proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    break  # compare what there is: the diff shows what is missing
                time.sleep(0.02)  # polling a real process's output file
            if proc.stdin is not None:
                proc.stdin.close()  # interactive: etcdctl exits on EOF
                try:
                    proc.wait(timeout=5)
                except Exception:
                    pass
            rc = proc.poll()
            harness.kill_process(proc, signal.SIGTERM)
            with open(path, "rb") as f:
                out = f.read().decode(errors="replace")
            with open(path + ".err", "rb") as f:
                err = f.read().decode(errors="replace")
            results[c.flavor] = harness.Result([], rc if rc is not None else "running", out, err)
        self.compare(label, results, shape)
        return results["etcd"], results["keel"]

    def revision(self, cluster):
        """The cluster's current revision, from a linearizable get."""
        import json
        r = cluster.ctl("get", "revision-probe", "-w", "json", members=[cluster.members[0]])
        self.assertEqual(r.rc, 0, r)
        return json.loads(r.out)["header"]["revision"]


def main():
    """Runs the calling module's tests; `--keel PATH` sets KEEL_BINARY."""
    argv = list(sys.argv)
    if "--keel" in argv:
        i = argv.index("--keel")
        os.environ["KEEL_BINARY"] = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    unittest.main(module="__main__", argv=argv, verbosity=2)
