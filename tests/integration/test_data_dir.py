"""A data dir belongs to the member that created it: tools/keel's checks at start.

One keel member is bootstrapped as `a` with token tokA and stopped. Then:

  1. the same data dir with --name b, another --initial-cluster and token
     tokB: keel exits non-zero at once and says which member the data dir
     holds and which --name it was given (etcd 3.4.23 starts here and
     renames the member; keel refuses, see Server::CheckStoredIdentity);
  2. the same data dir with --name a but another --initial-cluster-token:
     as in etcd, the bootstrap flags are ignored for an existing member, so
     keel starts (with a warning) and keeps the member and cluster IDs.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import compare
import harness


class DataDirTest(unittest.TestCase):

    def setUp(self):
        self.binary = harness.keel_binary()
        self.dir = tempfile.mkdtemp(prefix="keel-datadir-")
        self.data_dir = os.path.join(self.dir, "member.data")
        self.log_path = os.path.join(self.dir, "member.log")
        self.client_port, self.peer_port = harness.free_ports(2)
        self.proc = None

    def tearDown(self):
        if self.proc is not None:
            harness.kill_process(self.proc)
        if os.environ.get("KEEL_INTEG_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def args(self, name, token):
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [self.binary, "--name", name, "--data-dir", self.data_dir,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"{name}={peer}",
                "--initial-cluster-token", token]

    def start(self, name, token):
        """Starts a member and waits until /health says true."""
        log = open(self.log_path, "ab")
        try:
            self.proc = harness.spawn(self.args(name, token), stdout=log, stderr=log,
                                      die_with_parent=True)
        finally:
            log.close()
        deadline = time.monotonic() + 30
        while True:
            self.assertIsNone(self.proc.poll(), f"keel exited\n{self.log()}")
            status, body = harness.http_get(
                f"http://127.0.0.1:{self.client_port}/health", timeout=1.0)
            if status == 200 and '"health":"true"' in body:
                return
            self.assertLess(time.monotonic(), deadline, f"not healthy\n{self.log()}")
            time.sleep(0.05)  # polling a real process: no event to wait on

    def stop(self):
        harness.kill_process(self.proc, signal.SIGTERM)
        self.assertEqual(self.proc.returncode, 0, self.log())
        self.proc = None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def ids(self):
        r = subprocess.run(
            [harness.require_tool("etcdctl"), f"--endpoints=127.0.0.1:{self.client_port}",
             "endpoint", "status", "-w", "json"],
            env=dict(os.environ, ETCDCTL_API="3"), capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        header = json.loads(r.stdout)[0]["Status"]["header"]
        return header["member_id"], header["cluster_id"]

    def test_another_name_is_refused_and_bootstrap_flags_are_ignored(self):
        self.start("a", "tokA")
        ids = self.ids()
        self.stop()

        r = subprocess.run(self.args("b", "tokB"), capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        err = r.stderr.decode(errors="replace")
        self.assertNotEqual(r.returncode, 0, err)
        self.assertIn('holds member \\"a\\"', err)
        self.assertIn('--name is \\"b\\"', err)
        self.assertIn("failed to start the member", err)

        self.start("a", "tokB")
        self.assertEqual(self.ids(), ids, "the stored identity is kept")
        self.assertIn("ignoring --initial-cluster and --initial-cluster-token", self.log())
        self.stop()


if __name__ == "__main__":
    compare.main()
