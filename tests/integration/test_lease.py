"""etcdctl lease commands against keel and etcd 3.4, output compared.

grant (simple and JSON), put --lease, get showing the lease, timetolive with
and without --keys, list, keep-alive --once, revoke (the keys go in one
revision, which a watch shows), expiry of a short lease, and etcd's errors
for unknown leases, bad IDs and bad TTLs.

Lease IDs differ between the servers (etcd derives them from the member ID
and the clock), so each cluster's normaliser learns them from what `lease
grant` prints and shows them as <lease-N> in grant order; `{leaseN}` in a
command's arguments stands for the N-th granted lease's hex ID. Remaining
TTLs are checked to lie within a few seconds of the granted TTL and then
masked. When keel has no Lease service the grants fail to compare, the IDs
are missing and every test here fails: nothing passes by default.
"""

import json
import re
import time

import compare
import normalize

_GRANTED = re.compile(r"lease ([0-9a-f]{16}) granted with TTL")


def learn_leases(n, text):
    """Registers the lease IDs a grant printed (simple or JSON) with n."""
    for m in _GRANTED.finditer(text):
        n.add_lease(int(m.group(1), 16))
    stripped = text.strip()
    if stripped.startswith("{"):
        data = json.loads(stripped)
        if "ID" in data:
            n.add_lease(int(data["ID"]))


def grant_shape(n, text):
    learn_leases(n, text)
    return n.text(text)


_ATTACHED = re.compile(r"attached keys\(\[([^\]]*)\]\)")


def sort_attached(text):
    """etcd lists a lease's keys in map order: sort them."""
    return _ATTACHED.sub(lambda m: "attached keys([%s])" % " ".join(sorted(m.group(1).split())),
                         text)


def remaining(granted):
    def shape(n, text):
        return sort_attached(normalize.ttl_remaining(n.text(text), granted))
    return shape


def keys_json(n, text):
    data = json.loads(text)
    if isinstance(data.get("keys"), list):
        data["keys"].sort()
    return n.text(json.dumps(data, separators=(",", ":"))) + "\n"


def ttl_json(granted):
    """timetolive -w json with TTL masked once it is within 5 s of granted."""
    def shape(n, text):
        data = json.loads(text)
        if granted - 5 < data.get("ttl", -100) <= granted:
            data["ttl"] = "<ttl>"
        if isinstance(data.get("keys"), list):
            data["keys"].sort()
        return n.text(json.dumps(data, separators=(",", ":"))) + "\n"
    return shape


def leases_json(n, text):
    """lease list -w json with the leases in label order."""
    data = json.loads(text)
    data.get("leases", []).sort(key=lambda lease: n.ids.get(int(lease["id"]), ""))
    return n.text(json.dumps(data, separators=(",", ":"))) + "\n"


def sorted_text(n, text):
    return normalize.sorted_lines(n.text(text))


class LeaseTest(compare.CompareTestCase):

    def grant(self, *args, expect_rc=0):
        """lease grant args on both clusters; checks each learnt a new ID."""
        before = {f: len(n.leases) for f, n in self.norms.items()}
        self.both("lease", "grant", *args, shape=grant_shape, expect_rc=expect_rc)
        for flavor, n in self.norms.items():
            with self.subTest(f"{flavor}: lease grant {' '.join(args)} printed a lease ID"):
                self.assertEqual(len(n.leases), before[flavor] + 1,
                                 f"{flavor}: lease grant printed no lease ID "
                                 f"(is the Lease service there?)")
        self.assertEqual(len(self.norms["etcd"].leases), len(self.norms["keel"].leases),
                         "the clusters granted different numbers of leases; "
                         "{leaseN} would name different leases")

    def test_1_grant_attach_and_inspect_like_etcd(self):
        self.grant("60")                                                   # lease1
        self.grant("120", "-w", "json")                                    # lease2
        self.both("put", "l/a", "1", "--lease={lease1}", expect_rc=0)
        self.both("put", "l/b", "2", "--lease={lease1}", expect_rc=0)
        self.both("put", "l/c", "3", "--lease={lease2}", expect_rc=0)
        self.both("put", "l/d", "4", expect_rc=0)
        self.both("get", "l/", "--prefix", "-w", "json", expect_rc=0)
        self.both("get", "l/a", "-w", "fields", expect_rc=0)
        self.both("lease", "timetolive", "{lease1}", shape=remaining(60), expect_rc=0)
        self.both("lease", "timetolive", "{lease1}", "--keys", shape=remaining(60),
                  expect_rc=0)
        self.both("lease", "timetolive", "{lease2}", "--keys", "-w", "json",
                  shape=ttl_json(120), expect_rc=0)
        self.both("lease", "list", shape=sorted_text, expect_rc=0)
        self.both("lease", "list", "-w", "json", shape=leases_json, expect_rc=0)
        self.both("lease", "keep-alive", "--once", "{lease1}", expect_rc=0)
        self.both("lease", "keep-alive", "--once", "{lease2}", "-w", "json", expect_rc=0)
        self.both("lease", "timetolive", "{lease1}", shape=remaining(60), expect_rc=0)

    def test_2_revoke_deletes_attached_keys_like_etcd(self):
        rev = json.loads(self.etcd.ctl("get", "l/", "-w", "json").out)["header"]["revision"]
        w = self.watch_both("l/", "--prefix", f"--rev={rev + 1}")
        self.both("lease", "revoke", "{lease1}", expect_rc=0)
        self.both("get", "l/", "--prefix", "-w", "json", expect_rc=0)
        self.both("lease", "timetolive", "{lease1}", expect_rc=0)
        self.both("lease", "timetolive", "{lease1}", "--keys", "-w", "json", shape=keys_json,
                  expect_rc=0)
        self.both("lease", "list", shape=sorted_text, expect_rc=0)
        self.both("put", "l/end", "end", expect_rc=0)
        self.finish_watch(w, until="l/end\nend\n")

    def test_3_unknown_leases_and_bad_arguments_fail_like_etcd(self):
        self.both("lease", "revoke", "{lease1}", expect_rc=1)
        self.both("lease", "keep-alive", "--once", "{lease1}", expect_rc=2)
        self.both("put", "l/x", "1", "--lease={lease1}", expect_rc=1)
        self.both("lease", "timetolive", "1234", expect_rc=0)
        self.both("lease", "revoke", "1234", expect_rc=1)
        self.both("lease", "revoke", "nothex", expect_rc=128)
        self.both("lease", "revoke", expect_rc=128)
        self.both("lease", "grant", expect_rc=128)
        self.both("lease", "grant", "abc", expect_rc=128)
        self.both("lease", "grant", "9000000001", expect_rc=1)
        self.both("txn", stdin='\nput l/y 1 --lease=1234\n\n\n', expect_rc=1)

    def test_4_an_expired_lease_deletes_its_keys_like_etcd(self):
        self.grant("1")                                                    # lease3
        rev = json.loads(self.etcd.ctl("get", "x", "-w", "json").out)["header"]["revision"]
        w = self.watch_both("exp/", "--prefix", f"--rev={rev + 1}")
        self.both("put", "exp/k", "v", "--lease={lease3}", expect_rc=0)
        for c in self.clusters():
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                r = c.ctl("get", "exp/k", "--keys-only")
                if r.rc == 0 and "exp/k" not in r.out:
                    break
                time.sleep(0.1)  # polling a real process for the expiry
            else:
                self.fail(f"{c.flavor}: the key of a 1 s lease still exists after 15 s")
        self.both("lease", "timetolive", "{lease3}", expect_rc=0)
        self.both("get", "exp/", "--prefix", "-w", "json", expect_rc=0)
        self.both("put", "exp/end", "end", expect_rc=0)
        self.finish_watch(w, until="exp/end\nend\n")


if __name__ == "__main__":
    compare.main()
