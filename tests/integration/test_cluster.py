"""member list, endpoint status/health/hashkv and /version, /health over HTTP
against keel and etcd 3.4, output compared.

What legitimately differs is normalised (see normalize.py): member and
cluster IDs, ports, raft terms and indexes, DB sizes, timings, and the order
etcdctl prints members (by their random IDs) and health results (by
completion). Which member leads is hidden in the comparison, and checked
separately: every member must name the same leader, and exactly one row must
say it is the leader. The last test stops two members of each cluster and
compares what a client sees from the member left without a quorum.
"""

import json
import re
import time
import urllib.request

import compare
import normalize


def shaped(*steps):
    """A shape running Normalizer.text and the given text steps in order."""
    def shape(n, text):
        for step in steps:
            text = n.text(text) if step is None else step(text)
        return text
    return shape


TEXT = None  # the step "apply Normalizer.text" inside shaped()

_STATUS_FIELDS_MASKS = re.compile(
    r'^"(DBSize|Leader|RaftIndex|RaftAppliedIndex|RaftTerm)" : \d+$', re.M)
# Leader is hidden (which member leads differs between runs) and checked by
# check_one_leader instead.


def status_fields(text):
    return _STATUS_FIELDS_MASKS.sub(lambda m: f'"{m.group(1)}" : <masked>', text)


def blocks_sorted(text):
    """Blank-line separated blocks of -w fields output, sorted."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return "\n\n".join(sorted(blocks)) + "\n"


def member_fields(text):
    """member list -w fields: header lines, then member blocks sorted."""
    lines = text.splitlines()
    head, members, cur = [], [], None
    for line in lines:
        if line.startswith('"ID" :'):
            cur = [line]
            members.append(cur)
        elif cur is None:
            head.append(line)
        else:
            cur.append(line)
    return "\n".join(head + ["\n".join(m) for m in sorted(members)]) + "\n"


def hashkv_simple(text):
    """endpoint hashkv simple rows with the hash hidden (backend-specific)."""
    return "".join(re.sub(r", \d+$", ", <hash>", line) + "\n" for line in text.splitlines())


def hashkv_json(text):
    data = json.loads(text)
    for entry in data:
        entry["HashKV"]["hash"] = "<hash>"
    return json.dumps(data, separators=(",", ":")) + "\n"


_DEADLINE = re.compile(
    r"(rpc error: code = (Unknown|DeadlineExceeded) desc = )?context deadline exceeded")


def deadline_either(n, text):
    """etcd races its own server-side deadline against the client's: a timed
    out request ends as the server's Unknown "context deadline exceeded" or
    as the client's DeadlineExceeded, printed differently. Both are etcd's;
    show them alike."""
    return _DEADLINE.sub("<deadline exceeded>", n.text(text))


def http(url, method="GET"):
    """(status, content-type, body) of one HTTP request; status 0 on failure."""
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()
    except (urllib.error.URLError, OSError) as e:
        return 0, None, f"connection failed: {e}"


class ClusterTest(compare.CompareTestCase):

    def test_1_member_list_matches_etcd(self):
        self.both("member", "list", shape=shaped(TEXT, normalize.sorted_lines), expect_rc=0)
        self.both("member", "list", "-w", "table",
                  shape=shaped(TEXT, normalize.sorted_table), expect_rc=0)
        self.both("member", "list", "-w", "json",
                  shape=shaped(normalize.members_json, TEXT), expect_rc=0)
        self.both("member", "list", "-w", "fields",
                  shape=shaped(TEXT, member_fields), expect_rc=0)
        self.both("member", "list", "-w", "protobuf",
                  shape=lambda n, t: normalize.protobuf(n, t, sort_repeated=True), expect_rc=0)
        for m in range(3):
            self.both("member", "list", "-w", "json", member=m,
                      shape=shaped(normalize.members_json, TEXT), expect_rc=0)

    def check_one_leader(self, cluster):
        with self.subTest(f"{cluster.flavor}: every member names the same leader"):
            st = cluster.status()
            self.assertIsNotNone(st, f"{cluster.flavor}: endpoint status failed")
            leaders = {s["Status"]["leader"] for s in st}
            self.assertEqual(len(leaders), 1, st)
            ids = {s["Status"]["header"]["member_id"] for s in st}
            self.assertIn(leaders.pop(), ids)

    def test_2_endpoint_status_matches_etcd(self):
        self.both("put", "k", "v", expect_rc=0)
        for c in self.clusters():
            self.check_one_leader(c)
        for m in range(3):
            self.both("endpoint", "status", member=m, shape=shaped(TEXT, normalize.status_simple),
                      expect_rc=0)
            self.both("endpoint", "status", "-w", "json", member=m,
                      shape=shaped(normalize.status_json, TEXT), expect_rc=0)
            self.both("endpoint", "status", "-w", "fields", member=m,
                      shape=shaped(status_fields, TEXT), expect_rc=0)
        table = shaped(TEXT, lambda t: normalize.render_rows(normalize.mask_columns(
            normalize.table_rows(t), normalize.STATUS_TABLE_MASKS)))
        self.both("endpoint", "status", "-w", "table", member="all", shape=table, expect_rc=0)
        self.both("endpoint", "status", "--cluster", "-w", "table",
                  shape=shaped(TEXT, lambda t: normalize.sorted_table(
                      t, normalize.STATUS_TABLE_MASKS)), expect_rc=0)
        self.both("endpoint", "status", "-w", "json", member="all",
                  shape=shaped(normalize.status_json, TEXT), expect_rc=0)
        self.both("endpoint", "status", "-w", "protobuf", member=0, expect_rc=4)

    def test_3_endpoint_health_matches_etcd(self):
        for m in range(3):
            self.both("endpoint", "health", member=m, expect_rc=0)
            self.both("endpoint", "health", "-w", "json", member=m,
                      shape=shaped(TEXT, normalize.health_json), expect_rc=0)
            self.both("endpoint", "health", "-w", "fields", member=m, expect_rc=0)
        self.both("endpoint", "health", member="all",
                  err_shape=shaped(TEXT, normalize.sorted_lines), expect_rc=0)
        self.both("endpoint", "health", "--cluster",
                  err_shape=shaped(TEXT, normalize.sorted_lines), expect_rc=0)
        self.both("endpoint", "health", "-w", "table", member="all",
                  shape=shaped(TEXT, lambda t: normalize.sorted_table(
                      t, normalize.HEALTH_TABLE_MASKS)), expect_rc=0)
        self.both("endpoint", "health", "-w", "json", "--cluster",
                  shape=shaped(TEXT, normalize.health_json), expect_rc=0)
        self.both("endpoint", "health", "-w", "fields", member="all",
                  shape=shaped(TEXT, blocks_sorted), expect_rc=0)

    def test_4_endpoint_hashkv_agrees_across_members(self):
        self.both("put", "h", "1", expect_rc=0)
        for m in range(3):
            self.both("endpoint", "hashkv", member=m, shape=shaped(TEXT, hashkv_simple),
                      expect_rc=0)
        self.both("endpoint", "hashkv", "-w", "json", member="all",
                  shape=shaped(hashkv_json, TEXT), expect_rc=0)
        for c in self.clusters():
            with self.subTest(f"{c.flavor}: every member has the same KV hash"):
                r = c.ctl("endpoint", "hashkv", "-w", "json")
                self.assertEqual(r.rc, 0, r)
                hashes = {e["HashKV"]["hash"] for e in json.loads(r.out)}
                self.assertEqual(len(hashes), 1, r.out)

    def test_5_version_and_health_urls_match_etcd(self):
        cases = [("/version", "GET"), ("/health", "GET"), ("/health", "POST"),
                 ("/version", "POST"), ("/nonexistent", "GET"), ("/health?exclude=NOSPACE", "GET")]
        for path, method in cases:
            for m in range(3):
                got = {}
                for c in self.clusters():
                    status, ctype, body = http(c.members[m].client_url + path, method)
                    got[c.flavor] = (status, ctype, body)
                with self.subTest(f"{method} {path} on infra{m + 1}"):
                    self.assertEqual(got["etcd"], got["keel"],
                                     f"{method} {path}: keel (second) differs from etcd (first)")

    def test_9_a_member_without_quorum_answers_like_etcd(self):
        for c in self.clusters():
            for m in c.members[1:]:
                c.kill_member(m)
        survivor = 0
        # Wait until the survivor knows it has lost the leader (etcd: after
        # an election timeout as follower, or a check-quorum period as leader).
        for c in self.clusters():
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                status, _, body = http(c.members[survivor].client_url + "/health")
                if status == 503:
                    break
                time.sleep(0.1)  # polling a real process
        for c in self.clusters():
            with self.subTest(f"{c.flavor}: /health without a leader"):
                status, ctype, body = http(c.members[survivor].client_url + "/health")
                self.assertEqual(status, 503, body)
        got = {c.flavor: http(c.members[survivor].client_url + "/health")
               for c in self.clusters()}
        with self.subTest("GET /health without a leader"):
            self.assertEqual(got["etcd"], got["keel"])
        fast = ("--command-timeout=2s",)
        self.both("get", "k", *fast, member=survivor, err_shape=deadline_either,
                  expect_rc=1, timeout=30)
        self.both("get", "k", "--consistency=s", member=survivor, expect_rc=0)
        self.both("put", "k", "v2", *fast, member=survivor, err_shape=deadline_either,
                  expect_rc=1, timeout=30)
        self.both("endpoint", "health", *fast, member=survivor, err_shape=deadline_either,
                  expect_rc=1, timeout=30)
        self.both("endpoint", "status", "-w", "json", member=survivor,
                  shape=shaped(normalize.status_json, TEXT), expect_rc=0)
        self.both("member", "list", "-w", "json", member=survivor,
                  shape=shaped(normalize.members_json, TEXT), expect_rc=0)
        w = self.watch_both("k", "--rev=1", member=survivor)
        self.finish_watch(w, timeout=15)


if __name__ == "__main__":
    compare.main()
