"""Moving a key space from real etcd 3.4 to keel and back, through snapshots.

1. A three-member etcd 3.4 takes puts, overwrites, deletes, a txn, keys on a
   lease, and a compaction; `etcdctl snapshot save` downloads its database.
   `keelutl snapshot status` reads it as etcdctl does (same hash, revision,
   keys and size).
2. `keelutl snapshot restore` builds three keel members from it; started,
   each member serves every key with etcd's create/mod revisions, versions
   and leases, the same revision, the same history after the compaction
   (and etcd's error before it), and the lease with its keys.
3. keel takes a few more writes; `etcdctl snapshot save` downloads its key
   space through Maintenance.Snapshot (etcd's format: bbolt with etcd's
   buckets and the SHA-256 trailer); keel is stopped and `keelutl snapshot
   export` writes the same from a member's data directory. `etcdctl
   snapshot status` reads both; `etcdctl snapshot restore` restores the
   downloaded one into a new three-member etcd, where the same reads hold.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import compare
import harness

LEASE_TTL = 600  # long enough that no lease expires during the test


def keelutl_binary():
    path = os.path.join(os.path.dirname(harness.keel_binary()), "keelutl")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is not an executable keelutl (build the keelutl target)")
    return path


def run(args, timeout=60):
    r = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, ETCDCTL_API="3"))
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


class MigrationTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="keel-migration-")
        self.clusters = []
        self.keelutl = keelutl_binary()
        self.etcdctl = harness.require_tool("etcdctl")

    def tearDown(self):
        for c in self.clusters:
            c.stop()
        if os.environ.get("KEEL_INTEG_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def cluster(self, flavor, token):
        c = harness.Cluster(flavor, self.dir, token=token)
        self.clusters.append(c)
        return c

    def restore(self, tool, snapshot, cluster):
        """Restores `snapshot` into each of `cluster`'s members with `tool`
        (keelutl and etcdctl take the same flags)."""
        for m in cluster.members:
            rc, _, err = run([tool, "snapshot", "restore", snapshot, "--name", m.name,
                              "--data-dir", m.data_dir,
                              "--initial-cluster", cluster.initial_cluster(),
                              "--initial-cluster-token", cluster.token,
                              "--initial-advertise-peer-urls", m.peer_url])
            self.assertEqual(rc, 0, err)

    def ok(self, cluster, *args, members=None):
        r = cluster.ctl(*args, members=members)
        self.assertEqual(r.rc, 0, f"{cluster.flavor}: etcdctl {' '.join(args)}: {r}")
        return r.out

    # --- what is compared -------------------------------------------------

    def reads(self, cluster, member):
        """What a client sees through `member`: every key with its revisions,
        the history past the compaction, the compacted error, the lease."""
        m = [member]
        out = {}
        everything = json.loads(self.ok(cluster, "get", "", "--from-key", "-w", "json", members=m))
        out["revision"] = everything["header"]["revision"]
        out["kvs"] = everything.get("kvs", [])
        for rev in (self.compacted + 1, self.mid_revision):
            past = json.loads(self.ok(cluster, "get", "", "--from-key", f"--rev={rev}", "-w",
                                      "json", members=m))
            out[f"kvs@{rev}"] = past.get("kvs", [])
        r = cluster.ctl("get", "k1", f"--rev={self.compacted - 1}", members=m)
        out["compacted"] = (r.rc, r.err.strip().splitlines()[-1])
        lease = json.loads(self.ok(cluster, "lease", "timetolive", self.lease_hex, "--keys",
                                   "-w", "json", members=m))
        out["lease"] = (lease["id"], lease["granted-ttl"], sorted(lease.get("keys") or []))
        self.assertGreater(lease["ttl"], 0, "the lease is alive")
        out["lease list"] = self.ok(cluster, "lease", "list", members=m)
        return out

    def assert_same_reads(self, expected, cluster):
        for m in cluster.members:
            got = self.reads(cluster, m)
            for key in expected:
                self.assertEqual(got[key], expected[key], f"{cluster.flavor} {m.name}: {key}")

    # --- the test ---------------------------------------------------------

    def test_etcd_to_keel_and_back(self):
        # 1. etcd takes writes and leases; its snapshot is saved.
        etcd = self.cluster("etcd", "source-etcd").start()
        for i in range(40):
            self.ok(etcd, "put", f"k{i % 9}", f"value-{i}")
        self.ok(etcd, "del", "k3")
        r = etcd.ctl("txn", stdin='value("k1") != "x"\n\nput k1 txn-1\nput k9 txn-9\n\n\n')
        self.assertEqual(r.rc, 0, r)
        grant = self.ok(etcd, "lease", "grant", str(LEASE_TTL))
        self.lease_hex = grant.split()[1]
        self.ok(etcd, "put", "leased-a", "a", f"--lease={self.lease_hex}")
        self.ok(etcd, "put", "leased-b", "b", f"--lease={self.lease_hex}")
        self.compacted = 20
        self.ok(etcd, "compaction", str(self.compacted))
        for i in range(5):
            self.ok(etcd, "put", f"late{i}", str(i))
        self.mid_revision = self.compacted + 10
        expected = self.reads(etcd, etcd.members[0])
        self.assertGreater(len(expected["kvs"]), 10)
        snapshot = os.path.join(self.dir, "etcd.snapshot")
        self.ok(etcd, "snapshot", "save", snapshot, members=[etcd.members[0]])
        etcd.stop()

        rc, etcd_status, err = run([self.etcdctl, "snapshot", "status", snapshot, "-w", "json"])
        self.assertEqual(rc, 0, err)
        rc, keel_status, err = run([self.keelutl, "snapshot", "status", snapshot, "-w", "json"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(keel_status), json.loads(etcd_status))

        # 2. Three keel members restored from it serve the same reads.
        keel = self.cluster("keel", "migrated-keel")
        self.restore(self.keelutl, snapshot, keel)
        keel.start()
        self.assert_same_reads(expected, keel)

        # 3. keel goes on, stops; its key space goes back into etcd.
        self.ok(keel, "put", "after-keel", "1")
        self.ok(keel, "put", "k1", "from-keel", f"--lease={self.lease_hex}")
        expected = self.reads(keel, keel.members[0])
        self.assertEqual(expected["revision"], self.reads(keel, keel.members[1])["revision"])
        saved = os.path.join(self.dir, "keel-saved.snapshot")
        self.ok(keel, "snapshot", "save", saved, members=[keel.members[0]])
        rc, status, err = run([self.etcdctl, "snapshot", "status", saved, "-w", "json"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(status)["revision"], expected["revision"])
        keel.stop()
        exported = os.path.join(self.dir, "keel.snapshot")
        rc, out, err = run([self.keelutl, "snapshot", "export",
                            "--data-dir", keel.members[0].data_dir, exported])
        self.assertEqual(rc, 0, err)
        rc, status, err = run([self.etcdctl, "snapshot", "status", exported, "-w", "json"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(status)["revision"], expected["revision"])

        back = self.cluster("etcd", "restored-etcd")
        self.restore(self.etcdctl, saved, back)
        back.start()
        self.assert_same_reads(expected, back)
        # HashKV agrees with keel's own, offline.
        rc, keel_hash, err = run([self.keelutl, "hashkv", keel.members[0].data_dir, "-w", "json"])
        self.assertEqual(rc, 0, err)
        hashes = json.loads(self.ok(back, "endpoint", "hashkv", "-w", "json",
                                    members=[back.members[0]]))
        self.assertEqual(hashes[0]["HashKV"]["hash"], json.loads(keel_hash)["hash"])


if __name__ == "__main__":
    compare.main()
