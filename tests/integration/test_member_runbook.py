"""Seed 001's runbook for replacing a failed member, on keel and on etcd 3.4,
with the stock etcdctl, each step's output compared.

On each flavor: a three-member cluster under a write load (etcdctl puts
from a background thread, every acknowledged key recorded) loses infra3
(SIGKILL, data dir wiped); `member remove` it, `member add infra4`, start
infra4 with --initial-cluster-state existing and the ETCD_INITIAL_CLUSTER
that member add printed, wait until it serves; then `member add --learner
infra5`, start it the same way, `member promote` it (retrying while etcd
answers that the learner is not in sync yet, as an operator would), and
`move-leader` to it (then to the removed member, which both refuse). Every
acknowledged write is then read back from each member. The etcdctl
outputs are compared after normalising IDs, ports, the order of members
(by their random IDs) and the spaces etcdctl pads IDs with.
"""

import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

import harness
import normalize

_ADDED = re.compile(r"Member\s+([0-9a-f]+) added to cluster")
_INITIAL = re.compile(r'^ETCD_INITIAL_CLUSTER="([^"]*)"$', re.M)
_SPACES = re.compile(r"  +")


def member_args(cluster, m, initial_cluster, state):
    args = [cluster.binary,
            "--name", m.name,
            "--data-dir", m.data_dir,
            "--listen-client-urls", m.client_url,
            "--advertise-client-urls", m.client_url,
            "--listen-peer-urls", m.peer_url,
            "--initial-advertise-peer-urls", m.peer_url,
            "--initial-cluster", initial_cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", cluster.token]
    if cluster.flavor == "etcd":
        args += ["--logger", "zap", "--log-outputs", "stderr"]
    return args


def start_joining(cluster, m, initial_cluster):
    log = open(m.log_path, "ab")
    try:
        m.proc = harness.spawn(member_args(cluster, m, initial_cluster, "existing"),
                               stdout=log, stderr=log, die_with_parent=True)
    finally:
        log.close()


def shape(n, text):
    """IDs and ports labelled, the padding collapsed, the initial cluster
    sorted (etcdctl lists it in member ID order)."""
    text = _INITIAL.sub(lambda m: 'ETCD_INITIAL_CLUSTER="' + ",".join(
        sorted(m.group(1).split(","))) + '"', text)
    return _SPACES.sub(" ", n.text(text))


_ATTEMPT = re.compile(r'"attempt":\d+')


def err_shape(n, text):
    """shape(), with etcdctl's retry lines told apart by nothing but their
    attempt number (how many fit in a command timeout is timing) kept once."""
    lines = []
    for line in _ATTEMPT.sub('"attempt":<n>', shape(n, text)).splitlines():
        if not lines or lines[-1] != line:
            lines.append(line)
    return "".join(line + "\n" for line in lines)


def list_shape(n, text):
    return normalize.sorted_lines(shape(n, text))


class WriteLoad:
    """etcdctl puts in a loop against every live endpoint; acked keys kept."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.members = list(cluster.members)
        self.acked = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        i = 0
        while not self.stop.is_set():
            key = f"load/{i:06d}"
            r = self.cluster.ctl("put", key, f"v{i}", members=self.members,
                                 flags=("--command-timeout=3s",), timeout=30)
            if r.rc == 0 and r.out.strip() == "OK":
                self.acked.append(key)
            i += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


class MemberRunbookTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="keel-runbook-")
        cls.outputs = {}
        cls.acked = {}
        cls.errors = {}
        for flavor in os.environ.get("KEEL_RUNBOOK_FLAVORS", "etcd,keel").split(","):
            cluster = harness.Cluster(flavor, cls.workdir)
            try:
                cls.outputs[flavor], cls.acked[flavor] = cls.run_book(cluster)
                print(f"{flavor}: {len(cls.acked[flavor])} acknowledged writes, all read "
                      f"back from every member", file=sys.stderr)
            except AssertionError as e:
                cls.errors[flavor] = str(e)
            finally:
                cluster.stop()
                for m in getattr(cluster, "extra", []):
                    if m.proc is not None:
                        harness.kill_process(m.proc, signal.SIGTERM if m.running()
                                             else signal.SIGKILL)

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("KEEL_INTEG_KEEP"):
            print(f"kept {cls.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def run_book(cls, c):
        c.start()
        n = normalize.Normalizer(c)
        n.add_members(c.member_ids(), c.cluster_id())
        out = []

        def step(label, *args, shaper=shape, members=None, retry_while=None, adds=None):
            """One etcdctl command (retried while its stderr says
            retry_while); `adds` names the member a member add creates, so
            its new ID is labelled before the output is."""
            deadline = time.monotonic() + 30
            start = time.monotonic()
            while True:
                r = c.ctl(*args, members=members)
                if retry_while is not None and retry_while in r.err:
                    print(f"{c.flavor}: {label}: {retry_while} after "
                          f"{time.monotonic() - start:.1f}s", file=sys.stderr)
                if retry_while is None or retry_while not in r.err or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.5)  # the learner catches up on its own time
            added = _ADDED.search(r.out) if adds else None
            if added:
                n.add_id(int(added.group(1), 16), f"<{adds}>")
            out.append((label, f"exit {r.rc}\n--- stdout\n{shaper(n, r.out)}"
                               f"--- stderr\n{err_shape(n, r.err)}"))
            if os.environ.get("KEEL_INTEG_SHOW"):
                print(f"=== {c.flavor}: {label}\n{out[-1][1]}", file=sys.stderr)
            return r

        ports = harness.free_ports(4)
        c.extra = []
        for k, name in enumerate(("infra4", "infra5")):
            m = harness.Member(3 + k, name, ports[2 * k], ports[2 * k + 1],
                               os.path.join(c.dir, f"{name}.data"),
                               os.path.join(c.dir, f"{name}.log"))
            c.extra.append(m)
            n.ports[m.client_port] = f"<client{4 + k}>"
            n.ports[m.peer_port] = f"<peer{4 + k}>"
        infra1, infra2, infra3 = c.members
        infra4, infra5 = c.extra
        ids = c.member_ids()

        with WriteLoad(c) as load:
            # etcd's strict reconfig check wants the voters connected for
            # 5 s (HealthInterval) before a member is added.
            time.sleep(6)
            # infra3 fails for good: killed, its disk wiped.
            c.kill_member(infra3)
            shutil.rmtree(infra3.data_dir)
            load.members = [infra1, infra2]
            # The operator acts once the survivors serve (a new leader, if
            # infra3 led).
            c.wait_healthy([infra1, infra2], timeout=60)
            step("member list", "member", "list", shaper=list_shape,
                 members=[infra1, infra2])
            step("member remove", "member", "remove", format(ids["infra3"], "x"),
                 members=[infra1, infra2])
            # Both servers answer "unhealthy cluster" until the voters have
            # been connected for HealthInterval; an operator tries again.
            r = step("member add", "member", "add", "infra4",
                     f"--peer-urls={infra4.peer_url}", members=[infra1, infra2],
                     retry_while="unhealthy cluster", adds="infra4")
            assert _ADDED.search(r.out), f"{c.flavor}: member add failed: {r}"
            initial = _INITIAL.search(r.out).group(1)
            start_joining(c, infra4, initial)
            c.wait_healthy([infra4], timeout=60)
            load.members = [infra1, infra2, infra4]
            step("member list after infra4", "member", "list", shaper=list_shape,
                 members=[infra1, infra2, infra4])
            # etcd's strict reconfig check wants every voter connected for
            # 5 s (HealthInterval) before the next add.
            time.sleep(6)

            r = step("member add --learner", "member", "add", "infra5", "--learner",
                     f"--peer-urls={infra5.peer_url}", members=[infra1, infra2, infra4],
                     retry_while="unhealthy cluster", adds="infra5")
            added = _ADDED.search(r.out)
            assert added, f"{c.flavor}: member add --learner failed: {r}"
            learner = added.group(1)
            start_joining(c, infra5, _INITIAL.search(r.out).group(1))
            # A learner serves serializable reads only.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                r = c.ctl("get", "load/", "--prefix", "--count-only",
                          "--consistency=s", members=[infra5])
                if r.rc == 0:
                    break
                time.sleep(0.2)
            # etcdctl retries Unavailable up to its retry limit, then prints
            # the server's error.
            step("learner: linearizable get", "get", "x", members=[infra5])
            step("learner: put", "put", "x", "y", members=[infra5])
            step("member list with the learner", "member", "list", shaper=list_shape,
                 members=[infra1, infra2, infra4])
            step("member promote", "member", "promote", learner,
                 members=[infra1, infra2, infra4],
                 retry_while="can only promote a learner member which is in sync")
            c.wait_healthy([infra5], timeout=60)
            step("member list after promote", "member", "list", shaper=list_shape,
                 members=[infra1, infra2, infra4, infra5])
            # The promoted member takes the lead (etcdctl finds the leader
            # among the endpoints and asks it to transfer).
            everyone = [infra1, infra2, infra4, infra5]
            # Which member led before is the elections' choice on each flavor.
            step("move-leader to infra5", "move-leader", learner, members=everyone,
                 shaper=lambda n, t: re.sub(r"transferred from \S+", "transferred from "
                                            "<the leader>", shape(n, t)))
            deadline = time.monotonic() + 10
            while True:  # every member hears of the new leader by a heartbeat
                leader = c.leader_id(members=everyone)
                if leader == int(learner, 16) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert leader == int(learner, 16), \
                f"{c.flavor}: leader {leader:x} after move-leader to {learner}"
            step("move-leader to a removed member", "move-leader",
                 format(ids["infra3"], "x"), members=everyone)
            time.sleep(1)
        acked = list(load.acked)
        # Every acknowledged write, read back from every member.
        missing = {}
        for m in (infra1, infra2, infra4, infra5):
            r = c.ctl("get", "load/", "--prefix", "--keys-only", members=[m])
            assert r.rc == 0, f"{c.flavor}: get on {m.name} failed: {r}"
            have = set(line for line in r.out.splitlines() if line)
            lost = [k for k in acked if k not in have]
            if lost:
                missing[m.name] = lost[:10]
        assert not missing, f"{c.flavor}: acknowledged writes missing: {missing}"
        return out, acked

    def test_runbook_ran_on_both(self):
        self.assertEqual(self.errors, {}, "a runbook failed")

    def test_every_acknowledged_write_survives(self):
        for flavor in ("etcd", "keel"):
            with self.subTest(flavor):
                self.assertIn(flavor, self.acked, self.errors.get(flavor))
                self.assertGreater(len(self.acked[flavor]), 10,
                                   f"{flavor}: the load acknowledged too few writes")

    def test_each_etcdctl_step_prints_what_etcd_prints(self):
        if "etcd" not in self.outputs or "keel" not in self.outputs:
            self.fail(f"a runbook did not finish: {self.errors}")
        want = dict(self.outputs["etcd"])
        got = dict(self.outputs["keel"])
        self.assertEqual(list(want), list(got))
        for label in want:
            if os.environ.get("KEEL_INTEG_SHOW"):
                print(f"\n=== {label}\n{got[label]}", file=sys.stderr)
            with self.subTest(label):
                self.assertEqual(want[label], got[label],
                                 f"{label}: keel (second) differs from etcd (first)")


if __name__ == "__main__":
    import compare
    compare.main()
