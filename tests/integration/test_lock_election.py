"""etcdctl lock and elect against keel and etcd 3.4, transcripts compared.

etcdctl's lock and elect run clientv3's Mutex and Election (a key per
contender under the name, on the contender's session lease; the lowest
create revision holds it; a waiter watches its predecessor's key for the
delete), so these scenarios exercise the KV, Lease and Watch semantics
those recipes rely on: the same keys, the same order, the same waiting.
Each scenario runs on etcd's cluster, then on keel's, as a transcript of
events; the normalised transcripts must be equal.

  1. Two contenders for a lock: the second waits (prints nothing) while the
     first holds it, and takes it when the first exits (SIGTERM: etcdctl
     unlocks). A command run under the lock sees ETCD_LOCK_KEY.
  2. The holder's etcdctl is SIGKILLed: nothing unlocks, so the waiter gets
     the lock only when the holder's session lease (--ttl 3) expires.
  3. elect: a second candidate waits; `elect -l` observes the first
     leader's proposal, then the second's once the first exits.

Lease IDs differ between the servers: contender keys are shown as
<name>/<lease>; ordering is checked through the lock keys' create
revisions (the fencing token), which must increase from holder to holder.
"""

import json
import os
import re
import signal
import time

import compare
import harness

_CONTENDER = re.compile(r"\b(job|crash|el)/[0-9a-f]+\b")
WAIT_S = 2.0  # how long a waiter must stay silent while the lock is held


def shape(text):
    return _CONTENDER.sub(lambda m: f"{m.group(1)}/<lease>", text)


class Scenario:
    """One cluster's run: background etcdctl processes and a transcript."""

    def __init__(self, test, cluster):
        self.test = test
        self.c = cluster
        self.procs = []
        self.lines = []

    def start(self, label, *args):
        path = os.path.join(self.test.workdir,
                            f"{label}-{self.c.flavor}-{time.monotonic_ns()}")
        proc = self.c.ctl_background(*args, out_path=path)
        self.procs.append(proc)
        return (label, proc, path)

    @staticmethod
    def output(handle):
        with open(handle[2], "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for(self, handle, lines, timeout=20.0):
        """Waits until handle printed `lines` lines (or exited); records them."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.output(handle)
            if out.count("\n") >= lines or handle[1].poll() is not None:
                break
            if time.monotonic() > deadline:
                break  # the transcript shows what is missing
            time.sleep(0.05)  # polling a real process's output file
        return out

    def note(self, text):
        self.lines.append(text)

    def silent_for(self, handle, seconds):
        time.sleep(seconds)  # a waiter must print nothing while it waits
        out = self.output(handle)
        self.note(f"{handle[0]} while waiting: {shape(out)!r}")

    def create_revision(self, key):
        r = self.c.ctl("get", key, "-w", "json")
        data = json.loads(r.out)
        kvs = data.get("kvs", [])
        return int(kvs[0]["create_revision"]) if kvs else None

    def stop(self):
        for proc in self.procs:
            harness.kill_process(proc, signal.SIGKILL)


class LockElectionTest(compare.CompareTestCase):

    def run_both(self, scenario):
        transcripts = {}
        for c in self.clusters():
            s = Scenario(self, c)
            try:
                scenario(s)
            finally:
                s.stop()
            transcripts[c.flavor] = "\n".join(s.lines) + "\n"
        if os.environ.get("KEEL_INTEG_SHOW"):
            print(transcripts["keel"])
        self.assertEqual(transcripts["etcd"], transcripts["keel"],
                         "keel's transcript (second) differs from etcd's (first)")

    def test_1_second_contender_waits_and_takes_over_on_exit(self):
        def scenario(s):
            first = s.start("first", "lock", "--ttl=10", "job")
            out = s.wait_for(first, 1)
            s.note(f"first holds: {shape(out)!r}")
            first_key = out.strip()
            second = s.start("second", "lock", "--ttl=10", "job", "--", "sh", "-c",
                             'echo "second runs under $ETCD_LOCK_KEY"')
            s.silent_for(second, WAIT_S)
            token1 = s.create_revision(first_key)
            harness.kill_process(first[1], signal.SIGTERM)
            s.note(f"first exits: {first[1].returncode}")
            out = s.wait_for(second, 1)
            s.note(f"second after the first left: {shape(out)!r}")
            second[1].wait(timeout=10)
            s.note(f"second exits: {second[1].returncode}")
            keys = s.c.ctl("get", "job/", "--prefix", "--keys-only").out
            s.note(f"keys left: {shape(keys)!r}")
            # Both took the lock, the later at a higher fencing token.
            third = s.start("third", "lock", "--ttl=10", "job")
            token3 = s.create_revision(s.wait_for(third, 1).strip())
            s.note(f"tokens increase: {token1 is not None and token3 > token1}")
        self.run_both(scenario)

    def test_2_a_killed_holder_releases_when_its_lease_expires(self):
        def scenario(s):
            holder = s.start("holder", "lock", "--ttl=3", "crash")
            s.note(f"holder holds: {shape(s.wait_for(holder, 1))!r}")
            waiter = s.start("waiter", "lock", "--ttl=3", "crash", "--", "sh", "-c",
                             'echo "waiter got $ETCD_LOCK_KEY"')
            s.silent_for(waiter, 1.0)
            harness.kill_process(holder[1], signal.SIGKILL)
            killed = time.monotonic()
            s.silent_for(waiter, 1.0)  # the lease still lives
            out = s.wait_for(waiter, 1, timeout=20)
            took = time.monotonic() - killed
            s.note(f"waiter after the lease expired: {shape(out)!r}")
            s.note(f"within the TTL and a few seconds: {1.0 < took < 12}")
            waiter[1].wait(timeout=10)
            s.note(f"waiter exits: {waiter[1].returncode}")
        self.run_both(scenario)

    def test_3_elect_waits_and_listen_observes_leader_changes(self):
        def scenario(s):
            observer = s.start("observer", "elect", "-l", "el")
            s.silent_for(observer, 0.5)
            one = s.start("one", "elect", "el", "proposal-one")
            s.note(f"one leads: {shape(s.wait_for(one, 2))!r}")
            s.note(f"observer sees: {shape(s.wait_for(observer, 2))!r}")
            two = s.start("two", "elect", "el", "proposal-two")
            s.silent_for(two, WAIT_S)
            harness.kill_process(one[1], signal.SIGTERM)
            s.note(f"two leads after one left: {shape(s.wait_for(two, 2))!r}")
            s.note(f"observer sees: {shape(s.wait_for(observer, 4))!r}")
            harness.kill_process(two[1], signal.SIGTERM)
            keys = s.c.ctl("get", "el/", "--prefix", "--keys-only").out
            s.note(f"leader keys left: {shape(keys)!r}")
        self.run_both(scenario)


if __name__ == "__main__":
    compare.main()
