"""`make run` and `make cluster`: ci/run-member and ci/run-cluster, stopped by Ctrl-C.

The scripts run from a temporary directory (their data dirs land there) with
BUILD pointing at a build directory whose tools/keel is the binary under test,
so nothing is installed or built. Each test waits until /health answers true
on every client port the script promises (2379; or 2379, 22379 and 32379),
sends SIGINT to the script's process group as a terminal's Ctrl-C does, and
checks the script exits, every member process it started is gone, and the
ports are free again.

The ports are fixed (they are what `make cluster` documents), so CTest runs
this module alone (RUN_SERIAL); they must be free when it starts. The
members run through `setpriv --pdeathsig KILL`, so if the script is killed
outright (it dies with this process, see harness.spawn) they die too and do
not keep the ports.
"""

import os
import shlex
import shutil
import signal
import socket
import tempfile
import time
import unittest

import compare
import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER_PORTS = [2379, 22379, 32379]
PEER_PORTS = [2380, 22380, 32380]


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def proc_stats():
    """(pid, fields after the command name) of every process in /proc: state,
    ppid, pgrp, ..."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        yield int(entry), stat[stat.rindex(")") + 2:].split()


def children(pid):
    """PIDs of pid's child processes."""
    return [p for p, fields in proc_stats() if int(fields[1]) == pid]


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def group_members(pgid):
    """PIDs of the live (not zombie) processes in process group pgid."""
    return [p for p, fields in proc_stats() if fields[0] != "Z" and int(fields[2]) == pgid]


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


class MakeClusterTest(unittest.TestCase):

    def setUp(self):
        self.keel = os.path.realpath(harness.keel_binary())
        self.dir = tempfile.mkdtemp(prefix="keel-make-cluster-")
        # A build dir for the scripts: tools/keel runs the binary under test
        # with a parent-death signal.
        build = os.path.join(self.dir, "build")
        os.makedirs(os.path.join(build, "tools"))
        wrapper = os.path.join(build, "tools", "keel")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec setpriv --pdeathsig KILL -- "
                    f"{shlex.quote(self.keel)} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        self.env = dict(os.environ, BUILD=build)
        self.proc = None
        self.log_path = os.path.join(self.dir, "script.log")

    def tearDown(self):
        if self.proc is not None:
            harness.kill_process(self.proc)
        if os.environ.get("KEEL_INTEG_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-6000:]

    def run_script(self, script, client_ports, peer_ports):
        busy = [p for p in client_ports + peer_ports if port_in_use(p)]
        self.assertEqual(busy, [], "ports `make cluster` uses are taken (is a cluster "
                                   "or etcd running?)")
        with open(self.log_path, "wb") as log:
            self.proc = harness.spawn([os.path.join(ROOT, "ci", script)], stdout=log,
                                      stderr=log, env=self.env, cwd=self.dir,
                                      die_with_parent=True)
        deadline = time.monotonic() + 30
        pending = list(client_ports)
        while pending:
            self.assertIsNone(self.proc.poll(), f"{script} exited\n{self.log()}")
            for port in list(pending):
                status, body = harness.http_get(f"http://127.0.0.1:{port}/health",
                                                timeout=1.0)
                if status == 200 and '"health":"true"' in body:
                    pending.remove(port)
            self.assertLess(time.monotonic(), deadline,
                            f"{script}: ports {pending} not healthy\n{self.log()}")
            time.sleep(0.05)  # polling real processes: no event to wait on

        # The members: the script itself (run-member execs keel) or its
        # children running keel (run-cluster's sed filters are not members).
        members = [self.proc.pid] if exe_of(self.proc.pid) == self.keel else \
            [pid for pid in children(self.proc.pid) if exe_of(pid) == self.keel]
        self.assertEqual(len(members), len(client_ports), self.log())

        os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C in a terminal
        try:
            rc = self.proc.wait(timeout=20)
        except Exception:
            self.fail(f"{script} did not exit within 20s of SIGINT\n{self.log()}")
        self.assertEqual([pid for pid in members if alive(pid)], [],
                         f"members still running after {script} exited\n{self.log()}")
        # What else the script started (run-cluster's log filters) ends at
        # its member's end of output, just after.
        deadline = time.monotonic() + 5
        while group_members(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(group_members(self.proc.pid), [],
                         f"processes of {script} still running\n{self.log()}")
        self.assertEqual([p for p in client_ports + peer_ports if port_in_use(p)], [],
                         f"ports still bound after {script} exited\n{self.log()}")
        self.assertNotIn("panic", self.log())
        return rc

    def test_make_run_stops_on_ctrl_c(self):
        self.run_script("run-member", CLUSTER_PORTS[:1], PEER_PORTS[:1])
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "default.keel")))
        self.assertIn("received signal; shutting down", self.log())

    def test_make_cluster_stops_on_ctrl_c(self):
        self.run_script("run-cluster", CLUSTER_PORTS, PEER_PORTS)
        for i in (1, 2, 3):
            self.assertTrue(os.path.isdir(os.path.join(self.dir, f"infra{i}.keel")))
        self.assertEqual(self.log().count("received signal; shutting down"), 3, self.log())


if __name__ == "__main__":
    compare.main()
