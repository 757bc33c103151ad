#!/usr/bin/env python3
"""TLS on keel's client and peer ports, driven by the stock etcdctl.

Certificates are made by the test with the openssl CLI: a CA, a server
certificate for 127.0.0.1/localhost used on client and peer ports, a client
certificate (CN "root"), and a second CA nobody trusts. The cases:

- three keel members with mutual TLS on peer and client ports: etcdctl with
  --cacert/--cert/--key puts, gets and lists members (https URLs); /health
  and /version answer over TLS (HTTP/1.1); keelctl with the same flags
  reads the key; a client without a certificate, with one from the other
  CA, a plaintext client on the TLS port and a TLS client on a plaintext
  port all fail cleanly and the members stay healthy, the refusals logged
  with the client's address;
- three members with --auto-tls and --peer-auto-tls (etcdctl with
  --insecure-skip-tls-verify);
- one member whose certificate is replaced on disk: `openssl s_client`
  sees the new serial on the next connection, without a restart;
- start-up errors: a key that does not match its certificate and a missing
  file stop keel with a message naming the flag.

    python3 tests/integration/test_tls.py --keel build/tools/keel [--keelctl build/tools/keelctl]
"""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import compare
import harness


def openssl(*args, cwd):
    r = subprocess.run([harness.require_tool("openssl"), *args], cwd=cwd,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {r.stderr.decode()}")
    return r.stdout.decode()


class Certs:
    """A CA and the certificates it signs, in `dir`."""

    def __init__(self, dir):
        self.dir = dir
        self.ca("ca")
        self.ca("other-ca")
        self.leaf("server", "ca", "keel-server", serial="1001")
        self.leaf("client", "ca", "root", serial="2001")
        self.leaf("stranger", "other-ca", "root", serial="3001")

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                "-subj", f"/CN={name}", cwd=self.dir)

    def leaf(self, name, ca, cn, serial, days=2, out=None):
        out = out or name
        ext = os.path.join(self.dir, f"{out}.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    "keyUsage=digitalSignature,keyEncipherment\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{out}.key", "-out", f"{out}.csr", "-subj", f"/CN={cn}",
                cwd=self.dir)
        openssl("x509", "-req", "-in", f"{out}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-set_serial", serial, "-days", str(days), "-extfile", ext,
                "-out", f"{out}.crt", cwd=self.dir)


class TlsCluster(harness.Cluster):
    """harness.Cluster with https URLs where asked, and etcdctl given TLS flags."""

    def __init__(self, flavor, workdir, extra_flags, ctl_flags, client_https=True,
                 peer_https=True, ssl_context=None):
        super().__init__(flavor, workdir, extra_flags)
        self.ctl_flags = list(ctl_flags)
        self.client_scheme = "https" if client_https else "http"
        self.peer_scheme = "https" if peer_https else "http"
        self.ssl_context = ssl_context
        for m in self.members:
            m.__class__ = type("TlsMember", (harness.Member,), {
                "client_url": property(lambda m, s=self.client_scheme:
                                       f"{s}://127.0.0.1:{m.client_port}"),
                "peer_url": property(lambda m, s=self.peer_scheme:
                                     f"{s}://127.0.0.1:{m.peer_port}"),
            })

    def https_get(self, m, path):
        try:
            with urllib.request.urlopen(m.client_url + path, timeout=2.0,
                                        context=self.ssl_context) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (urllib.error.URLError, OSError) as e:
            return 0, str(e)

    def wait_healthy(self, members, timeout=30.0):
        deadline = time.monotonic() + timeout
        pending = list(members)
        while pending:
            for m in list(pending):
                if not m.running():
                    raise AssertionError(f"{m.name} exited with {m.proc.returncode}\n"
                                         f"{self.log_tail(m)}")
                status, body = self.https_get(m, "/health")
                if status == 200 and '"health":"true"' in body:
                    pending.remove(m)
            if pending and time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout}s\n" + self.logs())
            time.sleep(0.05)  # polling real processes: no event to wait on

    def endpoints(self, members=None):
        # etcdctl speaks TLS to a bare host:port only when given certificate
        # flags; an https URL makes it do so with --insecure-skip-tls-verify.
        return ",".join(m.client_url for m in (members or self.members))

    def ctl(self, *args, flags=(), **kwargs):
        return super().ctl(*args, flags=(*self.ctl_flags, *flags), **kwargs)


def plain_etcdctl(member, *args):
    """etcdctl with no TLS flag at all, against member's client port."""
    return subprocess.run([harness.require_tool("etcdctl"), f"--endpoints=127.0.0.1:{member.client_port}",
                           "--command-timeout=2s", "--dial-timeout=1s", *args],
                          env=dict(os.environ, ETCDCTL_API="3"), capture_output=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.keel_binary()
        cls.work = tempfile.mkdtemp(prefix="keel-tls-")
        cls.certs = Certs(cls.work)
        c = cls.certs
        cls.context = ssl.create_default_context(cafile=c.path("ca.crt"))
        cls.context.load_cert_chain(c.path("client.crt"), c.path("client.key"))
        cls.ctl_flags = [f"--cacert={c.path('ca.crt')}", f"--cert={c.path('client.crt')}",
                         f"--key={c.path('client.key')}"]

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("KEEL_INTEG_KEEP"):
            shutil.rmtree(cls.work, ignore_errors=True)

    def mutual_tls_flags(self):
        c = self.certs
        return ["--cert-file", c.path("server.crt"), "--key-file", c.path("server.key"),
                "--client-cert-auth", "--trusted-ca-file", c.path("ca.crt"),
                "--peer-cert-file", c.path("server.crt"), "--peer-key-file", c.path("server.key"),
                "--peer-client-cert-auth", "--peer-trusted-ca-file", c.path("ca.crt")]

    def start(self, cluster):
        self.addCleanup(cluster.stop)
        cluster.start()
        return cluster

    def test_mutual_tls_on_client_and_peer_ports(self):
        cluster = self.start(TlsCluster("keel", self.work, self.mutual_tls_flags(),
                                        self.ctl_flags, ssl_context=self.context))
        r = cluster.ctl("put", "foo", "bar")
        self.assertEqual((r.rc, r.out), (0, "OK\n"), r)
        for m in cluster.members:
            r = cluster.ctl("get", "foo", members=[m])
            self.assertEqual((r.rc, r.out), (0, "foo\nbar\n"), r)
        r = cluster.ctl("member", "list", "-w", "json")
        self.assertEqual(r.rc, 0, r)
        members = json.loads(r.out)["members"]
        self.assertEqual(sorted(u for m in members for u in m["peerURLs"]),
                         sorted(m.peer_url for m in cluster.members))
        self.assertTrue(all(u.startswith("https://") for m in members for u in m["clientURLs"]))

        m = cluster.members[0]
        status, body = cluster.https_get(m, "/version")
        self.assertEqual(status, 200, body)
        self.assertIn('"etcdserver"', body)
        # curl offers h2 and http/1.1: it gets HTTP/1.1, as gRPC clients
        # (which offer h2 alone) get h2.
        c = self.certs
        curl = subprocess.run([harness.require_tool("curl"), "-sS", "--cacert", c.path("ca.crt"),
                               "--cert", c.path("client.crt"), "--key", c.path("client.key"),
                               "-w", " %{http_version}", m.client_url + "/health"],
                              capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(curl.stdout.decode(), '{"health":"true"} 1.1', curl.stderr)

        # No client certificate: refused, logged with the client's address.
        r = plain_etcdctl(m, f"--endpoints={m.client_url}", f"--cacert={self.certs.path('ca.crt')}",
                          "get", "foo")
        self.assertNotEqual(r.returncode, 0, r)
        # A certificate from a CA the members do not trust.
        r = cluster.ctl("get", "foo", members=[m],
                        flags=("--command-timeout=2s", "--dial-timeout=1s",
                               f"--cert={c.path('stranger.crt')}",
                               f"--key={c.path('stranger.key')}"))
        self.assertNotEqual(r.rc, 0, r)
        # A plaintext client on the TLS port.
        plain = plain_etcdctl(m, "get", "foo")
        self.assertNotEqual(plain.returncode, 0, plain)
        status, body = harness.http_get(f"http://127.0.0.1:{m.client_port}/health")
        self.assertEqual(status, 400, body)
        self.assertIn("Client sent an HTTP request to an HTTPS server.", body)
        time.sleep(0.5)  # let the member write its log lines
        log = read(m.log_path)
        self.assertIn("rejected connection", log)
        self.assertIn('"remote-addr":"127.0.0.1:', log)
        self.assertIn("peer did not return a certificate", log)
        self.assertIn("unable to get local issuer certificate", log)
        self.assertIn("tls: http request", log)

        # Still serving after all that.
        cluster.check_alive()
        r = cluster.ctl("get", "foo", members=[m])
        self.assertEqual((r.rc, r.out), (0, "foo\nbar\n"), r)

        keelctl = os.environ.get("KEELCTL_BINARY")
        if keelctl:
            k = subprocess.run([keelctl, f"--endpoints={cluster.endpoints()}", *self.ctl_flags,
                                "get", "foo"], capture_output=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            self.assertEqual((k.returncode, k.stdout.decode()), (0, "foo\nbar\n"), k.stderr)
            k = subprocess.run([keelctl, f"--endpoints={cluster.endpoints()}",
                                f"--cacert={c.path('other-ca.crt')}", "--dial-timeout=1s",
                                "--command-timeout=2s", "get", "foo"],
                               capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertNotEqual(k.returncode, 0)
            self.assertIn("failed to verify certificate", k.stderr.decode())

    def test_tls_client_on_a_plaintext_port_fails_cleanly(self):
        cluster = self.start(TlsCluster("keel", self.work, [], self.ctl_flags,
                                        client_https=False, peer_https=False))
        m = cluster.members[0]
        r = plain_etcdctl(m, *self.ctl_flags, "get", "foo")
        self.assertNotEqual(r.returncode, 0, r)
        cluster.check_alive()
        r = plain_etcdctl(m, "put", "k", "v")
        self.assertEqual((r.returncode, r.stdout), (0, b"OK\n"), r)

    def test_auto_tls_on_client_and_peer_ports(self):
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        cluster = self.start(TlsCluster("keel", self.work, ["--auto-tls", "--peer-auto-tls"],
                                        ["--insecure-transport=false",
                                         "--insecure-skip-tls-verify"], ssl_context=insecure))
        r = cluster.ctl("put", "auto", "tls")
        self.assertEqual((r.rc, r.out), (0, "OK\n"), r)
        for m in cluster.members:
            r = cluster.ctl("get", "auto", members=[m])
            self.assertEqual((r.rc, r.out), (0, "auto\ntls\n"), r)
            self.assertTrue(os.path.exists(os.path.join(m.data_dir, "fixtures", "peer",
                                                        "cert.pem")))
        r = cluster.ctl("member", "list")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.count("https://"), 6, r.out)

    def serial_served(self, port):
        c = self.certs
        r = subprocess.run([harness.require_tool("openssl"), "s_client", "-connect",
                            f"127.0.0.1:{port}", "-CAfile", c.path("ca.crt"),
                            "-cert", c.path("client.crt"), "-key", c.path("client.key")],
                           input=b"", capture_output=True, timeout=30)
        pem = r.stdout.decode()
        self.assertIn("BEGIN CERTIFICATE", pem, r.stderr.decode())
        x = subprocess.run([harness.require_tool("openssl"), "x509", "-noout", "-serial"],
                           input=pem.encode(), capture_output=True, timeout=30)
        return x.stdout.decode().strip()

    def test_a_rotated_certificate_is_served_without_restart(self):
        rotating = os.path.join(self.work, "rotating")
        os.makedirs(rotating, exist_ok=True)
        for ext in ("crt", "key"):
            shutil.copy(self.certs.path(f"server.{ext}"), os.path.join(rotating, f"s.{ext}"))
        port, peer = harness.free_ports(2)
        data = os.path.join(rotating, "data")
        log_path = os.path.join(rotating, "member.log")
        args = [harness.keel_binary(), "--name", "solo", "--data-dir", data,
                "--listen-client-urls", f"https://127.0.0.1:{port}",
                "--advertise-client-urls", f"https://127.0.0.1:{port}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"solo=http://127.0.0.1:{peer}",
                "--cert-file", os.path.join(rotating, "s.crt"),
                "--key-file", os.path.join(rotating, "s.key")]
        with open(log_path, "ab") as log:
            proc = harness.spawn(args, stdout=log, stderr=log, die_with_parent=True)
        self.addCleanup(harness.kill_process, proc, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while True:
            try:
                served = self.serial_served(port)
                break
            except AssertionError:
                self.assertIsNone(proc.poll(), read(log_path))
                self.assertLess(time.monotonic(), deadline, read(log_path))
                time.sleep(0.1)  # waiting for a real process to listen
        self.assertEqual(served, "serial=03E9")  # 1001
        # A new pair written in place (key first, as a rotation script would).
        self.certs.leaf("server", "ca", "keel-server", serial="1002", out="rotated")
        shutil.copy(self.certs.path("rotated.key"), os.path.join(rotating, "s.key"))
        shutil.copy(self.certs.path("rotated.crt"), os.path.join(rotating, "s.crt"))
        self.assertEqual(self.serial_served(port), "serial=03EA")  # 1002
        self.assertIsNone(proc.poll())
        self.assertIn("reloaded TLS certificates", read(log_path))

    def start_fails(self, *flags):
        port, peer = harness.free_ports(2)
        args = [harness.keel_binary(), "--name", "bad",
                "--data-dir", tempfile.mkdtemp(dir=self.work),
                "--listen-client-urls", f"https://127.0.0.1:{port}",
                "--advertise-client-urls", f"https://127.0.0.1:{port}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"bad=http://127.0.0.1:{peer}", *flags]
        r = subprocess.run(args, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0)
        return r.stderr.decode(errors="replace")

    def test_bad_files_stop_keel_with_the_flag_named(self):
        c = self.certs
        err = self.start_fails("--cert-file", c.path("server.crt"),
                               "--key-file", c.path("client.key"))
        self.assertIn("--key-file", err)
        self.assertIn("private key does not match public key", err)
        err = self.start_fails("--cert-file", c.path("missing.crt"),
                               "--key-file", c.path("server.key"))
        self.assertIn(f"--cert-file {c.path('missing.crt')}: cannot open", err)
        err = self.start_fails()
        self.assertIn("TLS key/cert (--cert-file, --key-file) must be provided", err)


if __name__ == "__main__":
    if "--keelctl" in sys.argv:
        i = sys.argv.index("--keelctl")
        os.environ["KEELCTL_BINARY"] = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    compare.main()
