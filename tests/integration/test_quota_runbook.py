"""Seed 003's NOSPACE runbook with the stock etcdctl, keel against etcd 3.4.

Both clusters run with --quota-backend-bytes at 4 MiB. A write loop of
256 KiB values to infra1 hits "etcdserver: mvcc: database space exceeded";
then, as the runbook does: endpoint status and alarm list show the NOSPACE
alarm; writes are refused on every member while reads and deletes work; the
alarm survives a member's restart; compact at the current revision, defrag
every member, alarm disarm, and a put succeeds again. Every etcdctl output is
compared after normalisation (compare.py).

How many puts the loop takes differs (keel's size is its LevelDB files,
etcd's its bbolt file, which grow differently), so the loop runs on each
cluster alone and only its last error is compared; the revision the runbook
compacts at is each cluster's own, and the number etcdctl prints for it is
masked.
"""

import json
import re
import signal
import time

import compare
import normalize

QUOTA = 4 << 20
VALUE = "v" * (256 << 10)
MAX_PUTS = 200

_COMPACTED = re.compile(r"compacted revision \d+")


# Which members raise NOSPACE is timing, on etcd as on keel: each member
# raises its own when a put it applies finds its own file over the quota, and
# the files of the three members cross it at different puts. So alarms are
# compared by kind, with a check that each names a member of the cluster.
_ALARM = re.compile(r"memberID:(\S+) alarm:(\w+)")


def alarm_kinds(n, text):
    """alarm list: the distinct kinds raised, each by some member."""
    kinds = set()
    for member, kind in _ALARM.findall(n.text(text)):
        kinds.add(f"alarm:{kind} raised by {'a member' if member.startswith('<') else member}")
    return "\n".join(sorted(kinds)) + "\n"


def status_errors(n, text):
    """endpoint status -w json: the distinct alarm kinds each member lists."""
    out = []
    for entry in json.loads(text):
        out.append(alarm_kinds(n, "\n".join(entry["Status"].get("errors", []))))
    return json.dumps(out) + "\n"


class QuotaRunbookTest(compare.CompareTestCase):
    EXTRA_FLAGS = ("--quota-backend-bytes", str(QUOTA))

    def fill_until_nospace(self):
        """Puts to infra1 until one fails; compares that failure."""
        results = {}
        for c in self.clusters():
            for i in range(MAX_PUTS):
                r = c.ctl("put", "key", stdin=VALUE, members=[c.members[0]])
                if r.rc != 0:
                    break
            results[c.flavor] = r
            with self.subTest(f"{c.flavor}: the loop hit the quota"):
                self.assertNotEqual(r.rc, 0, f"{c.flavor}: {MAX_PUTS} puts fit a 4 MiB quota")
        self.compare("etcdctl put key <<< 256 KiB (the put over quota)", results)

    def compact_at_current_revision(self):
        results = {}
        for c in self.clusters():
            st = c.status(members=[c.members[0]])
            rev = st[0]["Status"]["header"]["revision"]
            results[c.flavor] = c.ctl("compact", str(rev), members=[c.members[0]])
        self.compare("etcdctl compact $rev", results,
                     shape=lambda n, t: _COMPACTED.sub("compacted revision <rev>", n.text(t)))

    def restart(self, index):
        for c in self.clusters():
            m = c.members[index]
            c.kill_member(m, signal.SIGTERM)
            c.start_member(m)
        # /health answers false while an alarm is raised (etcd's rule too):
        # wait until the member knows a leader instead.
        for c in self.clusters():
            deadline = time.monotonic() + 30
            while True:
                st = c.status(members=[c.members[index]])
                if st and st[0]["Status"].get("leader"):
                    break
                self.assertLess(time.monotonic(), deadline,
                                f"{c.flavor}: restarted member has no leader\n{c.logs()}")
                time.sleep(0.1)  # polling a real process

    def test_nospace_runbook(self):
        self.both("put", "small", "1", member=0, expect_rc=0)
        self.fill_until_nospace()
        # The alarm, as the runbook shows it.
        self.both("alarm", "list", member=0, shape=alarm_kinds, expect_rc=0)
        self.both("endpoint", "status", "-w", "json", member="all", shape=status_errors,
                  expect_rc=0)
        # Every member refuses writes that grow the key space...
        for m in range(3):
            self.both("put", "other", "v", member=m, expect_rc=1)
        self.both("txn", member=1, stdin="\n\nput t v\n\n", expect_rc=1)
        self.both("lease", "grant", "60", member=2, expect_rc=1)
        # ...while reads and deletes go on.
        self.both("get", "small", member=1, expect_rc=0)
        self.both("get", "key", "--keys-only", member=2, expect_rc=0)
        self.both("del", "small", member=1, expect_rc=0)
        # The alarm is in the key space: a restarted member still has it.
        self.restart(2)
        self.both("alarm", "list", member=2, shape=alarm_kinds, expect_rc=0)
        self.both("put", "other", "v", member=2, expect_rc=1)
        # The way out: compact, defrag every member, disarm.
        self.compact_at_current_revision()
        self.both("defrag", member="all", shape=lambda n, t: normalize.sorted_lines(n.text(t)),
                  expect_rc=0)
        self.both("alarm", "disarm", member=0, shape=alarm_kinds, expect_rc=0)
        self.both("alarm", "list", member=1, expect_rc=0)
        self.both("put", "newkey", "123", member=0, expect_rc=0)
        self.both("get", "newkey", member=2, expect_rc=0)
        for c in self.clusters():
            with self.subTest(f"{c.flavor}: every member below the quota after defrag"):
                st = c.status()
                self.assertIsNotNone(st)
                for entry in st:
                    self.assertLess(entry["Status"]["dbSize"], QUOTA, entry)
                    self.assertEqual(entry["Status"].get("errors", []), [], entry)


if __name__ == "__main__":
    compare.main()
