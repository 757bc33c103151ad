"""--config-file and the logging flags on a real member.

  1. One YAML file in etcd's format (embed.Config's keys: a scalar, a list
     for log-outputs, a duration in nanoseconds) starts both a real etcd 3.4
     and keel; each serves a put and a get, and each writes its log lines to
     the file log-outputs names, not to stderr.
  2. keel with --log-format console and an apply warning threshold of 1ns:
     its log file holds zap's console lines, etcd's "elected leader" line
     and its "apply request took too long" warnings.
  3. Under a Type=notify unit (NOTIFY_SOCKET set, as systemd sets it) keel
     sends READY=1 once it serves clients and STOPPING=1 on SIGTERM.
  4. What keel refuses, by name: a key it does not know, a flag beside the
     file, an ETCD_* variable beside it, --log-outputs=journal.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import compare
import harness


class ConfigFileTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="keel-config-")
        self.procs = []

    def tearDown(self):
        for proc in self.procs:
            harness.kill_process(proc)
        if os.environ.get("KEEL_INTEG_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, name, extra=""):
        client_port, peer_port = harness.free_ports(2)
        client = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        log_path = os.path.join(self.dir, f"{name}.log")
        path = os.path.join(self.dir, f"{name}.yml")
        with open(path, "w") as f:
            f.write(f"""# etcd's configuration file format
name: '{name}'
data-dir: {os.path.join(self.dir, name + '.data')}
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
listen-peer-urls: {peer}
listen-client-urls: {client}
initial-advertise-peer-urls: {peer}
advertise-client-urls: {client}
initial-cluster: {name}={peer}
initial-cluster-token: 'config-test'
initial-cluster-state: 'new'
strict-reconfig-check: true
enable-v2: false
logger: zap
log-level: info
log-outputs: [{log_path}]
experimental-corrupt-check-time: 0
{extra}""")
        return path, client_port, log_path

    def start(self, binary, config, client_port, env=None):
        out = open(os.path.join(self.dir, "stdio.txt"), "ab")
        try:
            proc = harness.spawn([binary, "--config-file", config], stdout=out, stderr=out,
                                 env=env, die_with_parent=True)
        finally:
            out.close()
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while True:
            self.assertIsNone(proc.poll(), f"{binary} exited with {proc.returncode}")
            status, body = harness.http_get(f"http://127.0.0.1:{client_port}/health", timeout=1.0)
            if status == 200 and '"health":"true"' in body:
                return proc
            self.assertLess(time.monotonic(), deadline, f"{binary} not healthy")
            time.sleep(0.05)  # polling a real process: no event to wait on

    def ctl(self, client_port, *args):
        r = subprocess.run([harness.require_tool("etcdctl"), f"--endpoints=127.0.0.1:{client_port}",
                            *args], env=dict(os.environ, ETCDCTL_API="3"), capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def stop(self, proc):
        harness.kill_process(proc, signal.SIGTERM)
        self.procs.remove(proc)

    @staticmethod
    def read(path):
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")

    def test_one_file_starts_etcd_and_keel(self):
        for name, binary in (("etcd1", harness.require_tool("etcd")),
                             ("keel1", harness.keel_binary())):
            with self.subTest(binary=binary):
                env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
                config, port, log_path = self.write_config(name)
                proc = self.start(binary, config, port, env=env)
                self.assertEqual(self.ctl(port, "put", "k", "from " + name), "OK\n")
                self.assertEqual(self.ctl(port, "get", "k", "--print-value-only"),
                                 f"from {name}\n")
                self.stop(proc)
                log = self.read(log_path)
                self.assertIn('"msg":"', log, "zap JSON lines in the log-outputs file")
                self.assertIn(" elected leader ", log)

    def test_console_lines_and_slow_apply_warnings(self):
        config, port, log_path = self.write_config(
            "keel2", "log-format: console\nexperimental-warning-apply-duration: 1\n")
        proc = self.start(harness.keel_binary(), config, port)
        self.ctl(port, "put", "k", "v")
        self.stop(proc)
        lines = self.read(log_path).splitlines()
        self.assertTrue(lines)
        for line in lines:
            fields = line.split("\t")
            self.assertGreaterEqual(len(fields), 4, line)
            self.assertRegex(fields[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(fields[1], ("DEBUG", "INFO", "WARN", "ERROR"))
        self.assertTrue(any("\tINFO\t" in l and "elected leader" in l for l in lines))
        slow = [l for l in lines if "\tWARN\t" in l and "apply request took too long" in l]
        self.assertTrue(slow, "a 1ns threshold warns on every apply")
        self.assertIn('"expected-duration":"1ns"', slow[0])

    def test_systemd_hears_ready_then_stopping(self):
        config, port, _ = self.write_config("keel6")
        notify_path = os.path.join(self.dir, "notify.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            listener.bind(notify_path)
            listener.settimeout(30)
            proc = self.start(harness.keel_binary(), config, port,
                              env=dict(os.environ, NOTIFY_SOCKET=notify_path))
            self.assertEqual(listener.recv(64), b"READY=1")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(listener.recv(64), b"STOPPING=1")
            self.assertEqual(proc.wait(timeout=30), 0)
            self.procs.remove(proc)
        finally:
            listener.close()

    def test_refusals_name_what_is_refused(self):
        keel = harness.keel_binary()
        config, _, _ = self.write_config("keel3", "no-such-key: 1\n")
        cases = [
            ([keel, "--config-file", config], {},
             'config file key "no-such-key": not a key etcd\'s configuration file has'),
            ([keel, "--config-file", self.write_config("keel4")[0], "--name", "x"], {},
             "--name may not be given with --config-file"),
            ([keel, "--config-file", self.write_config("keel5")[0]], {"ETCD_DATA_DIR": "/tmp/x"},
             "ETCD_DATA_DIR may not be set with --config-file"),
            ([keel, "--log-outputs", "journal"], {}, "--log-outputs=journal is not supported"),
        ]
        for args, env, message in cases:
            with self.subTest(args=args[1:], env=env):
                r = subprocess.run(args, capture_output=True, text=True, timeout=30,
                                   env=dict(os.environ, **env), stdin=subprocess.DEVNULL)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(message, r.stderr)


if __name__ == "__main__":
    compare.main()
