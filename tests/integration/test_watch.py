"""etcdctl watch and compact against keel and etcd 3.4, output compared.

Watches run in the background (etcdctl watch ... > file) while the test
writes, and stop once a sentinel event shows up in their output. A watch
started with --rev gets the same events whether it registers before or
after the writes, so those outputs are deterministic; JSON watches are only
used over finished history, because how events are split into responses
otherwise depends on timing. watch -i (interactive) gets its commands on
stdin, including progress requests. The one watch without --rev confirms it is
registered by writing a sync key until the event appears, and compares what
follows; it runs last, since the number of sync writes (so the revision)
may differ between the clusters.

Compaction: compact, compact --physical, reads and watches below the
compacted revision, compacting twice or into the future, all with etcd's
errors and exit codes.
"""

import base64
import json
import time

import compare


def b64(s):
    return base64.b64encode(s.encode()).decode()


class WatchTest(compare.CompareTestCase):

    def write_history(self):
        self.both("put", "w/a", "1", expect_rc=0)                # rev 2
        self.both("put", "w/b", "2", expect_rc=0)                # rev 3
        self.both("put", "w/a", "3", expect_rc=0)                # rev 4
        self.both("del", "w/b", expect_rc=0)                     # rev 5
        self.both("put", "x", "outside", expect_rc=0)            # rev 6
        self.both("txn", stdin='\nput w/c 5\nput w/d 6\ndel w/a\n\n\n', expect_rc=0)  # rev 7
        self.both("del", "w/", "--prefix", expect_rc=0)          # rev 8
        self.both("put", "w/a", "9", expect_rc=0)                # rev 9

    def test_1_watch_replays_history_from_rev_like_etcd(self):
        self.write_history()
        watches = [
            self.watch_both("w/", "--prefix", "--rev=2"),
            self.watch_both("w/", "--prefix", "--rev=2", "--prev-kv"),
            self.watch_both("w/a", "--rev=1", "--prev-kv"),
            self.watch_both("w/a", "w/c", "--rev=3"),
            self.watch_both("w/", "--prefix", "--rev=7", "--prev-kv"),
        ]
        self.both("put", "w/zz-end", "end", expect_rc=0)
        for w in watches:
            self.finish_watch(w, until="w/zz-end\nend\n")

    def test_2_watch_json_over_history_matches_etcd(self):
        # History only (rev 2..9 of w/a), all of it written already.
        w = self.watch_both("w/a", "--rev=2", "--prev-kv", "-w", "json")
        self.finish_watch(w, until='"mod_revision":9,"version":1,"value":"OQ=="}')
        w = self.watch_both("w/", "--prefix", "--rev=5", "-w", "json")
        self.finish_watch(w, until=f'"key":"{b64("w/zz-end")}"')

    def test_3_watch_started_before_writes_sees_them_like_etcd(self):
        self.both("get", "w/", "--prefix", "-w", "json", expect_rc=0)
        rev = json.loads(self.etcd.ctl("get", "x", "-w", "json").out)["header"]["revision"]
        watches = [
            self.watch_both("live2/", "--prefix", f"--rev={rev + 1}", "--prev-kv"),
            self.watch_both("live2/k", f"--rev={rev + 1}"),
            self.watch_both("live2/", "--prefix", f"--rev={rev + 3}"),
        ]
        self.both("put", "live2/k", "1", expect_rc=0)
        self.both("put", "live2/k", "2", expect_rc=0)
        self.both("put", "live2/j", "3", expect_rc=0)
        self.both("txn", stdin='\nput live2/k 4\nput live2/j 5\n\n\n', expect_rc=0)
        self.both("del", "live2/", "--prefix", "--prev-kv", expect_rc=0)
        self.both("put", "live2/k", "end", expect_rc=0)
        for w in watches:
            self.finish_watch(w, until="live2/k\nend\n")

    def test_4_interactive_watch_takes_commands_from_stdin_like_etcd(self):
        rev = json.loads(self.etcd.ctl("get", "x", "-w", "json").out)["header"]["revision"]
        w = self.watch_both("-i", "--prev-kv", interactive=True)
        self.send_watch(w, "watch w/ --prefix --rev=2")
        self.assertTrue(self.wait_watch_output(w, "w/zz-end\nend\n"),
                        "watch -i: history never arrived")
        # etcdctl's own errors for lines it cannot use, on stderr.
        self.send_watch(w, "bogus")
        self.send_watch(w, "")
        self.send_watch(w, "watch")
        self.send_watch(w, "progress")
        self.assertTrue(self.wait_watch_output(w, f"progress notify: {rev}\n"),
                        "watch -i: no progress notification")
        self.send_watch(w, f"watch live4/k --rev={rev + 1}")
        self.both("put", "live4/k", "1", expect_rc=0)
        self.both("put", "live4/k", "end", expect_rc=0)
        self.finish_watch(w, until="live4/k\nend\n")

    def test_9_watch_without_rev_sees_writes_after_it_registers(self):
        label, handles = self.watch_both("live/", "--prefix", "--prev-kv")
        for c, proc, path in handles:
            self.assertTrue(self.wait_registered(c, path),
                            f"{c.flavor}: watch live/ --prefix never saw live/sync")
        self.both("put", "live/a", "1", expect_rc=0)
        self.both("put", "live/a", "2", expect_rc=0)
        self.both("del", "live/a", expect_rc=0)
        self.both("put", "live/end", "end", expect_rc=0)

        def after_sync(n, text):
            return n.text(text[text.rfind("live/sync\ns\n") + len("live/sync\ns\n"):])
        self.finish_watch((label, handles), until="live/end\nend\n", shape=after_sync)

    def wait_registered(self, cluster, path, timeout=10.0):
        """Writes live/sync until the watch writing to path has printed it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = cluster.ctl("put", "live/sync", "s")
            self.assertEqual(r.rc, 0, r)
            poll_until = time.monotonic() + 0.3
            while time.monotonic() < poll_until:
                with open(path, "rb") as f:
                    if b"live/sync\ns\n" in f.read():
                        return True
                time.sleep(0.02)  # polling a real process's output file
        return False


class CompactionTest(compare.CompareTestCase):

    def test_1_compact_discards_history_like_etcd(self):
        for i in range(1, 8):
            self.both("put", "c", f"v{i}", expect_rc=0)        # revs 2..8
        self.both("put", "d", "x", expect_rc=0)                # rev 9
        self.both("compact", "4", expect_rc=0)
        self.both("get", "c", "--rev=3", expect_rc=1)
        self.both("get", "c", "--rev=3", "-w", "json", expect_rc=1)
        self.both("get", "c", "--rev=4", "-w", "json", expect_rc=0)
        self.both("get", "c", "--rev=5", expect_rc=0)
        self.both("get", "c", "-w", "json", expect_rc=0)
        self.both("compact", "4", expect_rc=1)
        self.both("compact", "2", expect_rc=1)
        self.both("compact", "0", expect_rc=1)
        self.both("compact", "100", expect_rc=1)
        self.both("compact", "abc", expect_rc=1)
        self.both("compact", "6", "--physical", expect_rc=0)
        self.both("get", "c", "--rev=5", expect_rc=1)
        self.both("get", "c", "--rev=6", expect_rc=0)
        self.both("get", "", "--prefix", "--rev=6", "-w", "json", expect_rc=0)
        self.both("del", "c", "--prev-kv", "-w", "json", expect_rc=0)
        self.both("compact", "10", expect_rc=0)
        self.both("get", "", "--prefix", "-w", "json", expect_rc=0)
        self.both("put", "c", "again", "-w", "json", expect_rc=0)
        self.both("get", "c", "-w", "json", expect_rc=0)

    def test_2_watch_below_the_compacted_revision_is_cancelled_like_etcd(self):
        w = self.watch_both("c", "--rev=2")
        self.finish_watch(w)  # etcdctl exits on its own after the cancel
        w = self.watch_both("", "--prefix", "--rev=9", "--prev-kv")
        self.finish_watch(w)
        w = self.watch_both("c", "--rev=10", "--prev-kv")
        self.both("put", "c", "last", expect_rc=0)
        self.finish_watch(w, until="c\nlast\n")


if __name__ == "__main__":
    compare.main()
