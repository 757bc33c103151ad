"""etcdctl's users, roles and auth against keel and etcd 3.4, output compared.

The walkthrough of seeds 000 and 004 (the authentication guide and the
security guide's RBAC section): a root user with the root role, a limited
role granted a prefix, a key and a range, a user granted that role, auth
enabled; then as the limited user gets, puts, txns and watches inside and
outside its permissions, a wrong password, no user at all; a password
change; revoking a permission and a role; and auth disabled again. Every
command runs on etcd first, then on keel, and prints the same (normalised)
output and exit code. etcdctl --user logs in with Authenticate and sends the
token in the `token` metadata, as it does against etcd.

The methods run in order (unittest sorts them by name): each starts from
the state the previous one left.
"""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import compare
import harness

ROOT = "--user=root:rootpw"
ALICE = "--user=alice:alicepw"


class AuthTest(compare.CompareTestCase):

    def test_1_users_and_roles_before_auth_is_enabled(self):
        # (etcdctl's `auth enable` answers "root user does not have root
        # role" by adding the role and granting it, so that error is not
        # seen from etcdctl; node/auth_applier_test.cc covers it.)
        self.both("auth", "enable", expect_rc=1)  # no root user yet
        self.both("user", "add", "root", "--new-user-password=rootpw", expect_rc=0)
        self.both("user", "add", "root", "--new-user-password=x", expect_rc=1)
        self.both("role", "add", "root", expect_rc=0)
        self.both("user", "grant-role", "root", "root", expect_rc=0)
        self.both("role", "add", "reader", expect_rc=0)
        self.both("role", "add", "reader", expect_rc=1)
        self.both("role", "grant-permission", "reader", "--prefix=true", "read", "foo/",
                  expect_rc=0)
        self.both("role", "grant-permission", "reader", "readwrite", "bar", expect_rc=0)
        self.both("role", "grant-permission", "reader", "write", "k1", "k3", expect_rc=0)
        self.both("role", "grant-permission", "nosuch", "read", "x", expect_rc=1)
        self.both("user", "add", "alice", "--new-user-password=alicepw", expect_rc=0)
        self.both("user", "grant-role", "alice", "reader", expect_rc=0)
        self.both("user", "grant-role", "alice", "nosuch", expect_rc=1)
        self.both("user", "add", "nopass", "--no-password", expect_rc=0)
        self.both("role", "get", "reader", expect_rc=0)
        self.both("user", "get", "alice", expect_rc=0)
        self.both("user", "get", "alice", "--detail", expect_rc=0)
        self.both("user", "list", expect_rc=0)
        self.both("role", "list", expect_rc=0)
        self.both("put", "foo/a", "1", expect_rc=0)
        self.both("put", "zzz", "secret", expect_rc=0)

    def test_2_auth_enable_and_the_limited_user(self):
        self.both("auth", "enable", expect_rc=0)
        self.both("get", "foo/a", expect_rc=1)  # no user: "user name is empty"
        self.both("get", "foo/a", ROOT, expect_rc=0)
        self.both("get", "foo/a", ALICE, expect_rc=0)
        self.both("get", "foo/", "--prefix", ALICE, expect_rc=0)
        self.both("get", "foo/a", "--user=alice:wrong", expect_rc=2)
        self.both("get", "foo/a", "--user=nobody:pw", expect_rc=2)
        self.both("get", "zzz", ALICE, expect_rc=1)
        self.both("get", "", "--prefix", ALICE, expect_rc=1)
        self.both("put", "foo/a", "2", ALICE, expect_rc=1)
        self.both("put", "bar", "b", ALICE, expect_rc=0)
        self.both("get", "bar", ALICE, expect_rc=0)
        self.both("put", "k2", "v", ALICE, expect_rc=0)
        self.both("get", "k2", ALICE, expect_rc=1)  # write only
        self.both("del", "k1", "k3", ALICE, expect_rc=0)
        self.both("del", "k1", "k4", ALICE, expect_rc=1)
        self.both("put", "bar", "b2", "--prev-kv", ALICE, expect_rc=0)
        self.both("user", "list", ALICE, expect_rc=1)
        self.both("user", "get", "alice", ALICE, expect_rc=0)
        self.both("role", "get", "reader", ALICE, expect_rc=0)
        self.both("role", "get", "root", ALICE, expect_rc=1)
        self.both("user", "add", "eve", "--new-user-password=e", ALICE, expect_rc=1)
        self.both("endpoint", "hashkv", ALICE, expect_rc=1)
        self.both("get", "foo/a", "--user=nopass:x", expect_rc=2)
        self.both("user", "delete", "root", ROOT, expect_rc=1)
        self.both("role", "revoke", "reader", "x", ROOT, expect_rc=1)

    def test_2b_compaction_is_root_only_in_keel(self):
        # A deliberate difference: etcd 3.4 lets any user compact (its auth
        # applier does not check Compaction); keel requires the root role,
        # as issue 15 asks. So this runs on keel alone.
        r = self.keel.ctl("compaction", "1", ALICE)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("Error: etcdserver: permission denied", r.err)
        r = self.keel.ctl("compaction", "1", ROOT)
        self.assertEqual(r.rc, 0, r)

    def test_3_txns_as_the_limited_user(self):
        self.both("txn", ALICE, stdin='value("foo/a") = "1"\n\nput bar t1\n\nget bar\n\n',
                  expect_rc=0)
        self.both("txn", ALICE, stdin='value("zzz") = "1"\n\nput bar t2\n\n\n', expect_rc=1)
        self.both("txn", ALICE, stdin='\nput bar t3\n\nput foo/a t3\n\n', expect_rc=1)
        self.both("txn", ALICE, stdin='\nget foo/a\nget bar\n\n\n', expect_rc=0)
        self.both("get", "bar", ROOT, expect_rc=0)

    def test_4_watches_as_the_limited_user(self):
        allowed = self.watch_both("foo/", "--prefix", "--rev=1", ALICE)
        denied = self.watch_both("zzz", "--rev=1", ALICE)
        self.both("put", "foo/end", "end", ROOT, expect_rc=0)
        self.finish_watch(allowed, until="foo/end\nend\n")
        self.finish_watch(denied, timeout=5.0)

    def restored(self, flavor, snapshot, tool, token):
        """A new `flavor` cluster restored from `snapshot` with `tool`."""
        c = harness.Cluster(flavor, self.workdir, token=token)
        for m in c.members:
            r = subprocess.run([tool, "snapshot", "restore", snapshot, "--name", m.name,
                                "--data-dir", m.data_dir,
                                "--initial-cluster", c.initial_cluster(),
                                "--initial-cluster-token", c.token,
                                "--initial-advertise-peer-urls", m.peer_url],
                               capture_output=True, timeout=60,
                               env=dict(os.environ, ETCDCTL_API="3"))
            self.assertEqual(r.returncode, 0, r.stderr)
        c.start()
        return c

    def test_4b_users_and_roles_travel_in_snapshots_both_ways(self):
        # keel's snapshot restored into real etcd, and etcd's into keel:
        # the users, roles, grants and the auth switch come along.
        keelutl = os.path.join(os.path.dirname(harness.keel_binary()), "keelutl")
        etcdctl = harness.require_tool("etcdctl")
        checks = [("user", "list", ROOT), ("role", "get", "reader", ROOT),
                  ("user", "get", "alice", ROOT), ("get", "foo/a", ALICE),
                  ("put", "foo/a", "x", ALICE), ("get", "foo/a")]
        for source, flavor, tool in ((self.keel, "etcd", etcdctl),
                                     (self.etcd, "keel", keelutl)):
            snapshot = os.path.join(self.workdir, f"{source.flavor}-auth.snapshot")
            r = source.ctl("snapshot", "save", snapshot, ROOT, members=[source.members[0]])
            self.assertEqual(r.rc, 0, r)
            restored = self.restored(flavor, snapshot, tool, f"restored-{flavor}")
            try:
                for args in checks:
                    want = source.ctl(*args, members=[source.members[0]])
                    got = restored.ctl(*args, members=[restored.members[0]])
                    with self.subTest(f"{source.flavor} -> {flavor}: etcdctl {' '.join(args)}"):
                        self.assertEqual((want.rc, want.out), (got.rc, got.out))
            finally:
                restored.stop()

    def test_5_password_change_and_revocations(self):
        self.both("user", "passwd", "alice", "--interactive=false", ROOT, stdin="newpw\n",
                  expect_rc=0)
        self.both("get", "foo/a", ALICE, expect_rc=2)
        self.both("get", "foo/a", "--user=alice:newpw", expect_rc=0)
        self.both("role", "revoke-permission", "reader", "bar", ROOT, expect_rc=0)
        self.both("role", "revoke-permission", "reader", "bar", ROOT, expect_rc=1)
        self.both("put", "bar", "x", "--user=alice:newpw", expect_rc=1)
        self.both("role", "get", "reader", ROOT, expect_rc=0)
        self.both("user", "revoke-role", "alice", "reader", ROOT, expect_rc=0)
        self.both("user", "revoke-role", "alice", "reader", ROOT, expect_rc=1)
        self.both("get", "foo/a", "--user=alice:newpw", expect_rc=1)
        self.both("role", "delete", "reader", ROOT, expect_rc=0)
        self.both("user", "delete", "alice", ROOT, expect_rc=0)
        self.both("user", "list", ROOT, expect_rc=0)

    def test_6_auth_disable(self):
        self.both("auth", "disable", "--user=nopass:x", expect_rc=2)
        self.both("auth", "disable", ROOT, expect_rc=0)
        self.both("get", "zzz", expect_rc=0)
        self.both("put", "zzz", "open", expect_rc=0)
        self.both("user", "list", expect_rc=0)
        self.both("auth", "disable", expect_rc=0)


class SlowHashDoesNotStallTheMember(unittest.TestCase):
    """bcrypt runs off the event loop: while a member hashes a new user's
    password at a high --bcrypt-cost (seconds), the same member keeps
    answering puts and gets. The check is an ordering, not a timing: every
    put and get started after `user add` finishes before it does."""

    COST = "16"  # 2^16 rounds: seconds on any machine, 2^6 times cost 10

    def test_puts_and_gets_answer_while_a_password_hashes(self):
        workdir = tempfile.mkdtemp(prefix="keel-integ-")
        keel = harness.Cluster("keel", workdir, ["--bcrypt-cost", self.COST])
        try:
            keel.start()
            first = keel.members[:1]
            slow = keel.ctl_background("user", "add", "slow", "--new-user-password=pw",
                                       members=first,
                                       out_path=os.path.join(workdir, "user-add.out"))
            time.sleep(0.2)  # let the hash start
            answered = 0
            for i in range(5):
                put = keel.ctl("put", f"k{i}", "v", members=first)
                self.assertEqual(put.rc, 0, put)
                got = keel.ctl("get", f"k{i}", "--print-value-only", members=first)
                self.assertEqual((got.rc, got.out), (0, "v\n"), got)
                if slow.poll() is None:
                    answered += 1
            self.assertEqual(slow.wait(timeout=120), 0)
            self.assertEqual(answered, 5,
                             "puts and gets waited for the password hash")
            user = keel.ctl("user", "get", "slow", members=first)
            self.assertEqual((user.rc, user.out), (0, "User: slow\nRoles:\n"), user)
        finally:
            keel.stop()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    compare.main()
