"""SIGKILL of the leader and restarts of a three-member cluster, through etcdctl.

The same scenario runs on keel (what is tested) and on etcd 3.4 (the
reference: if etcd loses a write here, the check is wrong, not keel). A
writer thread runs `etcdctl put` with all three endpoints in a loop and
records which writes were acknowledged. The test then

  1. SIGKILLs the leader and measures how long the two survivors take to
     agree on a new leader (polling `endpoint status`), and how long until
     the writer's next acknowledged write; the issue asks keel for a new
     leader within two election timeouts (etcd's figure is only reported:
     CI once saw etcd 3.4 take 2.85 s with a 1 s election timeout);
  2. checks every acknowledged write is readable, with its value, and no
     write that was never sent appears;
  3. restarts the killed member and checks it catches up to the same data;
  4. SIGKILLs all three members while the writer runs, restarts them, and
     checks again that every acknowledged write survived (keel fsyncs the
     WAL before acknowledging);
  5. stops one member with SIGTERM and restarts it, and checks again.

The measured figures are printed on stderr (`ctest -V` shows them).
"""

import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

import compare
import harness

HEARTBEAT_MS = 100
ELECTION_MS = 1000
# Polling etcdctl adds latency to what is measured; the allowance covers one
# poll (a process start and two RPCs) on a loaded two-core machine.
MEASUREMENT_ALLOWANCE_S = 0.5


class Writer:
    """Puts <prefix><n> = v<n> through every endpoint until stopped."""

    def __init__(self, cluster, prefix):
        self.cluster = cluster
        self.prefix = prefix
        self.lock = threading.Lock()
        self.acked = {}    # key -> (value, finish time)
        self.unknown = {}  # key -> value (failed or timed out: may or may not exist)
        self.failures = []  # (time, stderr) of failed puts
        self.next = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag.set()
        self.thread.join(timeout=60)

    def run(self):
        while not self.stop_flag.is_set():
            key, value = f"{self.prefix}{self.next:06d}", f"v{self.next}"
            self.next += 1
            r = self.cluster.ctl("put", key, value,
                                 flags=("--command-timeout=2s", "--dial-timeout=1s"))
            now = time.monotonic()
            with self.lock:
                if r.rc == 0:
                    self.acked[key] = (value, now)
                else:
                    self.unknown[key] = value
                    self.failures.append((now, r.err.strip().splitlines()[-1:]))

    def acked_after(self, t):
        with self.lock:
            return sorted(ts for _, ts in self.acked.values() if ts > t)

    def wait_acked_after(self, t, count, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.acked_after(t)) >= count:
                return True
            time.sleep(0.05)  # waiting on another thread's real processes
        return False


class FailoverBase:
    """Mixed into a TestCase with FLAVOR set to 'keel' or 'etcd'."""

    FLAVOR = None
    # Whether the two-election-timeout bound is asserted, or only reported.
    ELECTION_BOUND_ASSERTED = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix=f"keel-integ-failover-{cls.FLAVOR}-")
        cls.cluster = harness.Cluster(
            cls.FLAVOR, cls.workdir,
            extra_flags=(f"--heartbeat-interval={HEARTBEAT_MS}",
                         f"--election-timeout={ELECTION_MS}"))
        try:
            cls.cluster.start()
            cls.ids = cls.cluster.member_ids()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()

    @classmethod
    def _cleanup(cls):
        cls.cluster.stop()
        if os.environ.get("KEEL_INTEG_KEEP"):
            print(f"kept {cls.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def setUp(self):
        self.writer = None

    def tearDown(self):
        if self.writer is not None:
            self.writer.stop()
        # A test that failed with a member down must not leave the next
        # test a member short (it would then fail for that, not for itself).
        down = [m for m in self.cluster.members if not m.running()]
        for m in down:
            self.cluster.start_member(m)
        if down:
            self.cluster.wait_healthy(down)

    def report(self, text):
        print(f"[{self.FLAVOR}] {text}", file=sys.stderr, flush=True)

    # --- helpers ---------------------------------------------------------

    def member_by_id(self, member_id):
        for m in self.cluster.members:
            if self.ids[m.name] == member_id:
                return m
        self.fail(f"{self.FLAVOR}: leader {member_id:x} is not a member {self.ids}")

    def leader(self, members):
        """The leader every member in members names, or 0."""
        return self.cluster.leader_id(members=members)

    def wait_leader(self, members, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lid = self.leader(members)
            if lid:
                return lid
            time.sleep(0.05)  # polling real processes
        self.fail(f"{self.FLAVOR}: no leader among {[m.name for m in members]}\n"
                  f"{self.cluster.logs()}")

    def read_all(self, members=None, serializable=False):
        """(revision, {key: value}) under the writer's prefix, as members see it."""
        args = ["get", self.writer.prefix, "--prefix", "-w", "json"]
        if serializable:
            args.append("--consistency=s")
        r = self.cluster.ctl(*args, members=members, timeout=30)
        self.assertEqual(r.rc, 0, f"{self.FLAVOR}: {r}")
        data = json.loads(r.out)
        kvs = {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
               for kv in data.get("kvs", [])}
        return data["header"]["revision"], kvs

    def check_acknowledged_writes(self, kvs, when):
        w = self.writer
        with w.lock:
            acked = dict(w.acked)
            attempted = {f"{w.prefix}{i:06d}" for i in range(w.next)}
        missing = [k for k, (v, _) in acked.items() if kvs.get(k) != v]
        self.assertEqual(missing, [], f"{self.FLAVOR} {when}: acknowledged writes lost "
                         f"({len(missing)} of {len(acked)})\n{self.cluster.logs()}")
        phantom = [k for k in kvs if k not in attempted]
        self.assertEqual(phantom, [], f"{self.FLAVOR} {when}: keys never written")
        wrong = [k for k, v in kvs.items() if v != f"v{int(k[len(w.prefix):])}"]
        self.assertEqual(wrong, [], f"{self.FLAVOR} {when}: wrong values")

    def wait_caught_up(self, member, revision, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.cluster.ctl("get", "probe", "--consistency=s", "-w", "json",
                                 members=[member])
            if r.rc == 0 and json.loads(r.out)["header"]["revision"] >= revision:
                return
            time.sleep(0.05)  # polling a real process
        self.fail(f"{self.FLAVOR}: {member.name} did not reach revision {revision}\n"
                  f"{self.cluster.log_tail(member)}")

    # --- the scenario ----------------------------------------------------

    def test_1_leader_sigkill_elects_a_new_leader_and_keeps_every_acknowledged_write(self):
        c = self.cluster
        old_id = self.wait_leader(c.members)
        old = self.member_by_id(old_id)
        survivors = [m for m in c.members if m is not old]
        self.writer = Writer(c, "kill-leader/").start()
        self.assertTrue(self.writer.wait_acked_after(0, 20, timeout=30),
                        f"{self.FLAVOR}: the writer made no progress before the kill")

        t_kill = time.monotonic()
        c.kill_member(old, signal.SIGKILL)
        last_miss = t_kill
        while True:
            poll_start = time.monotonic()
            lid = self.leader(survivors)
            now = time.monotonic()
            if lid and lid != old_id:
                break
            last_miss = poll_start
            self.assertLess(now - t_kill, 20, f"{self.FLAVOR}: no new leader 20 s after "
                            f"SIGKILL of {old.name}\n{c.logs()}")
        elected_s = now - t_kill
        lower_s = last_miss - t_kill
        self.assertTrue(self.writer.wait_acked_after(now, 10, timeout=20),
                        f"{self.FLAVOR}: writes through the surviving endpoints did not "
                        f"resume after the new leader was elected\n{c.logs()}")
        first_write_s = self.writer.acked_after(t_kill)[0] - t_kill
        self.writer.stop()
        errors = sorted({e for t, err in self.writer.failures if t > t_kill for e in err})
        failed = sum(1 for t, _ in self.writer.failures if t > t_kill)
        self.report(f"leader {old.name} SIGKILLed: new leader {self.member_by_id(lid).name} "
                    f"seen after {elected_s * 1000:.0f} ms (not yet at {lower_s * 1000:.0f} ms; "
                    f"election timeout {ELECTION_MS} ms); first acknowledged write after "
                    f"{first_write_s * 1000:.0f} ms; {failed} puts failed meanwhile {errors}; "
                    f"{len(self.writer.acked)} acknowledged in all")
        if self.ELECTION_BOUND_ASSERTED:
            self.assertLessEqual(elected_s, 2 * ELECTION_MS / 1000 + MEASUREMENT_ALLOWANCE_S,
                                 f"{self.FLAVOR}: new leader took {elected_s:.2f} s, more "
                                 f"than two election timeouts\n{c.logs()}")

        revision, kvs = self.read_all(members=survivors)
        self.check_acknowledged_writes(kvs, "after the leader was killed")
        for m in survivors:
            _, local = self.read_all(members=[m], serializable=True)
            self.assertEqual(local, kvs, f"{self.FLAVOR}: {m.name} disagrees")

        c.start_member(old)
        c.wait_healthy([old])
        self.wait_caught_up(old, revision)
        _, local = self.read_all(members=[old], serializable=True)
        self.assertEqual(local, kvs, f"{self.FLAVOR}: restarted {old.name} disagrees")

    def test_2_sigkill_of_every_member_keeps_every_acknowledged_write(self):
        c = self.cluster
        self.wait_leader(c.members)
        self.writer = Writer(c, "kill-all/").start()
        self.assertTrue(self.writer.wait_acked_after(time.monotonic(), 15, timeout=30))
        for m in c.members:
            c.kill_member(m, signal.SIGKILL)
        self.writer.stop()
        t_restart = time.monotonic()
        for m in c.members:
            c.start_member(m)
        c.wait_healthy(c.members)
        healthy_s = time.monotonic() - t_restart
        _, kvs = self.read_all()
        self.check_acknowledged_writes(kvs, "after every member was SIGKILLed and restarted")
        self.report(f"all members SIGKILLed and restarted: healthy after "
                    f"{healthy_s * 1000:.0f} ms; {len(self.writer.acked)} acknowledged "
                    f"writes all present")

    def test_3_sigterm_restart_of_a_member_keeps_every_acknowledged_write(self):
        c = self.cluster
        self.wait_leader(c.members)
        self.writer = Writer(c, "restart-one/").start()
        self.assertTrue(self.writer.wait_acked_after(time.monotonic(), 10, timeout=30))
        victim = c.members[1]
        c.kill_member(victim, signal.SIGTERM)
        self.assertTrue(self.writer.wait_acked_after(time.monotonic(), 10, timeout=30),
                        f"{self.FLAVOR}: writes stopped with one member down")
        c.start_member(victim)
        c.wait_healthy([victim])
        self.writer.stop()
        revision, kvs = self.read_all()
        self.check_acknowledged_writes(kvs, f"after {victim.name} restarted")
        self.wait_caught_up(victim, revision)
        _, local = self.read_all(members=[victim], serializable=True)
        self.assertEqual(local, kvs, f"{self.FLAVOR}: restarted {victim.name} disagrees")


class KeelFailoverTest(FailoverBase, unittest.TestCase):
    FLAVOR = "keel"
    ELECTION_BOUND_ASSERTED = True


class EtcdFailoverTest(FailoverBase, unittest.TestCase):
    FLAVOR = "etcd"
    # The bound is the demand on keel. etcd 3.4 is the reference for
    # the data checks; its election time is printed beside keel's.
    ELECTION_BOUND_ASSERTED = False


if __name__ == "__main__":
    compare.main()
