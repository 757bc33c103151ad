"""/metrics of a running keel cluster, read with Prometheus' own text parser.

A three-member keel cluster runs with --metrics extensive and a
--listen-metrics-urls listener per member; one etcd 3.4 member runs beside
it for reference. The checks:

  1. every member's /metrics (client URL and metrics URL) parses with
     python3-prometheus-client's parser, and the metrics URL serves
     /health but not the client API's /version;
  2. every metric that monitoring/keel-dashboard.json and
     monitoring/keel-alerts.yml use is exported by the cluster (histograms
     with their _bucket series);
  3. a workload (puts, gets, a delete, a txn) moves the counters it should:
     mvcc operations on every member, gRPC calls by method and code on the
     member the client used, client and peer bytes, proposals, fsyncs;
  4. every family keel shares with etcd has etcd's type, help text and
     histogram buckets, as real etcd 3.4 prints them;
  5. a member with --auto-tls serves /metrics on an https metrics URL with
     the client certificate, and on an http one beside it.
"""

import json
import os
import re
import shutil
import ssl
import sys
import tempfile
import time
import unittest
import urllib.request

import compare
import harness

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's python3-prometheus-client is installed for Debian's python3;
    # the interpreter running this may be another one.
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(REPO, "monitoring", "keel-dashboard.json")
ALERTS = os.path.join(REPO, "monitoring", "keel-alerts.yml")

METRIC_NAME = re.compile(r"\b((?:etcd|grpc|process|keel)_[a-z0-9_]+)")
PUTS = 20


def parse(text):
    """{sample name: [(labels, value)]} and {family name: family}."""
    samples, families = {}, {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    return samples, families


def total(samples, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for l, v in samples.get(name, [])
               if all(l.get(k) == want for k, want in labels.items()))


def expression_metrics(expr):
    """Metric names in a PromQL expression: label matchers and by/without
    clauses removed first (their label names look like metric names)."""
    expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)
    while True:
        stripped = re.sub(r"\{[^{}]*\}", "", expr)
        if stripped == expr:
            break
        expr = stripped
    return set(METRIC_NAME.findall(expr))


def alert_expressions(path):
    """The `expr:` values of a rule file, one-line or block (`expr: |`)."""
    exprs, block, indent = [], None, 0
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            depth = len(line) - len(line.lstrip())
            if block is not None:
                if stripped and depth > indent:
                    block.append(stripped)
                    continue
                exprs.append(" ".join(block))
                block = None
            if stripped.startswith("expr:"):
                value = stripped[len("expr:"):].strip()
                if value in ("|", ">"):
                    block, indent = [], depth
                else:
                    exprs.append(value)
    if block is not None:
        exprs.append(" ".join(block))
    return exprs


def used_metric_names():
    """Metric names the dashboard's and alert rules' expressions use."""
    names = set()
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            names |= expression_metrics(target["expr"])
    for expr in alert_expressions(ALERTS):
        names |= expression_metrics(expr)
    return names


class MetricsCluster(harness.Cluster):
    """A keel cluster whose members each listen for metrics on a port of
    their own."""

    def __init__(self, workdir):
        super().__init__("keel", workdir, extra_flags=["--metrics", "extensive"])
        for m, port in zip(self.members, harness.free_ports(self.SIZE)):
            m.metrics_url = f"http://127.0.0.1:{port}"

    def member_args(self, m):
        return super().member_args(m) + ["--listen-metrics-urls", m.metrics_url]


class MetricsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="keel-metrics-")
        cls.cluster = MetricsCluster(cls.workdir)
        cls.etcd = None
        try:
            cls.cluster.start()
            cls.etcd = harness.Cluster("etcd", cls.workdir,
                                       extra_flags=["--metrics", "extensive"])
            cls.etcd.SIZE = 1
            cls.etcd.members = cls.etcd.members[:1]
            cls.etcd.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        if cls.etcd is not None:
            cls.etcd.stop()
        if os.environ.get("KEEL_INTEG_KEEP") != "1":
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def scrape(self, url):
        status, body = harness.http_get(url + "/metrics", timeout=5.0)
        self.assertEqual(status, 200, body)
        return parse(body)

    def scrape_all(self):
        return [self.scrape(m.client_url) for m in self.cluster.members]

    def ctl(self, *args, member):
        result = self.cluster.ctl(*args, members=[member])
        self.assertEqual(result.rc, 0, result)
        return result

    def test_metrics_listener_serves_metrics_and_health_only(self):
        for m in self.cluster.members:
            samples, families = self.scrape(m.metrics_url)
            self.assertIn("etcd_server_has_leader", families)
            self.assertEqual(total(samples, "etcd_server_has_leader"), 1)
            status, body = harness.http_get(m.metrics_url + "/health", timeout=5.0)
            self.assertEqual((status, body.strip()), (200, '{"health":"true"}'))
            status, _ = harness.http_get(m.metrics_url + "/version", timeout=5.0)
            self.assertEqual(status, 404)

    def test_dashboard_and_alerts_metrics_are_exported(self):
        names = used_metric_names()
        self.assertGreater(len(names), 20, names)
        # A workload first, so that histograms of requests have samples.
        self.ctl("put", "dash", "board", member=self.cluster.members[0])
        exported = set()
        for samples, _ in self.scrape_all():
            exported.update(samples)
        missing = sorted(n for n in names if n not in exported)
        self.assertEqual(missing, [], "used by monitoring/ but not exported")

    def test_counters_move_with_a_workload(self):
        client = self.cluster.members[0]
        before = self.scrape_all()
        for i in range(PUTS):
            self.ctl("put", f"k{i}", f"v{i}", member=client)
        self.ctl("get", "k", "--prefix", member=client)
        self.ctl("del", "k0", member=client)
        # A txn of two operations: one txn for etcd's counting.
        result = self.cluster.ctl("txn", members=[client],
                                  stdin='value("k1") = "v1"\n\nput t1 a\nput t2 b\n\n\n')
        self.assertEqual(result.rc, 0, result)
        after = self.scrape_all()

        for (b, _), (a, _) in zip(before, after):
            # Writes are applied on every member.
            self.assertGreaterEqual(total(a, "etcd_mvcc_put_total") -
                                    total(b, "etcd_mvcc_put_total"), PUTS)
            self.assertGreaterEqual(total(a, "etcd_mvcc_delete_total") -
                                    total(b, "etcd_mvcc_delete_total"), 1)
            self.assertGreaterEqual(total(a, "etcd_server_proposals_applied_total") -
                                    total(b, "etcd_server_proposals_applied_total"), PUTS + 1)
            self.assertGreaterEqual(total(a, "etcd_server_proposals_committed_total") -
                                    total(b, "etcd_server_proposals_committed_total"), PUTS + 1)
            self.assertGreater(total(a, "etcd_disk_wal_fsync_duration_seconds_count"),
                               total(b, "etcd_disk_wal_fsync_duration_seconds_count"))
            self.assertGreater(total(a, "etcd_disk_backend_commit_duration_seconds_count"),
                               total(b, "etcd_disk_backend_commit_duration_seconds_count"))
            self.assertGreater(total(a, "etcd_network_peer_received_bytes_total"),
                               total(b, "etcd_network_peer_received_bytes_total"))
            self.assertGreater(total(a, "etcd_network_peer_sent_bytes_total"),
                               total(b, "etcd_network_peer_sent_bytes_total"))
            self.assertEqual(total(a, "etcd_server_has_leader"), 1)
            self.assertGreater(total(a, "process_cpu_seconds_total"), 0)
            self.assertGreater(total(a, "process_resident_memory_bytes"), 0)
        self.assertEqual(sum(total(a, "etcd_server_is_leader") for a, _ in after), 1)

        b, a = before[0][0], after[0][0]
        kv = dict(grpc_service="etcdserverpb.KV", grpc_type="unary")
        self.assertEqual(total(a, "grpc_server_started_total", grpc_method="Put", **kv) -
                         total(b, "grpc_server_started_total", grpc_method="Put", **kv), PUTS)
        self.assertEqual(
            total(a, "grpc_server_handled_total", grpc_method="Put", grpc_code="OK", **kv) -
            total(b, "grpc_server_handled_total", grpc_method="Put", grpc_code="OK", **kv), PUTS)
        self.assertEqual(total(a, "grpc_server_msg_received_total", grpc_method="Put", **kv) -
                         total(b, "grpc_server_msg_received_total", grpc_method="Put", **kv),
                         PUTS)
        self.assertEqual(total(a, "grpc_server_msg_sent_total", grpc_method="Put", **kv) -
                         total(b, "grpc_server_msg_sent_total", grpc_method="Put", **kv), PUTS)
        self.assertEqual(
            total(a, "grpc_server_handling_seconds_count", grpc_method="Put", **kv) -
            total(b, "grpc_server_handling_seconds_count", grpc_method="Put", **kv), PUTS)
        self.assertEqual(total(a, "grpc_server_handled_total", grpc_method="Txn",
                               grpc_code="OK", **kv) -
                         total(b, "grpc_server_handled_total", grpc_method="Txn",
                               grpc_code="OK", **kv), 1)
        self.assertEqual(total(a, "etcd_mvcc_txn_total") - total(b, "etcd_mvcc_txn_total"), 1)
        self.assertGreaterEqual(total(a, "etcd_mvcc_range_total") -
                                total(b, "etcd_mvcc_range_total"), 1)
        # Each put carries at least its key and value.
        self.assertGreaterEqual(total(a, "etcd_network_client_grpc_received_bytes_total") -
                                total(b, "etcd_network_client_grpc_received_bytes_total"),
                                PUTS * 4)
        self.assertGreater(total(a, "etcd_network_client_grpc_sent_bytes_total"),
                           total(b, "etcd_network_client_grpc_sent_bytes_total"))
        # Another member served none of these calls.
        other_b, other_a = before[1][0], after[1][0]
        self.assertEqual(total(other_a, "grpc_server_started_total", grpc_method="Put", **kv),
                         total(other_b, "grpc_server_started_total", grpc_method="Put", **kv))

    def test_families_match_etcds(self):
        self.etcd.ctl("put", "a", "b")
        _, etcd = self.scrape(self.etcd.members[0].client_url)
        samples, keel = self.scrape(self.cluster.members[0].client_url)
        shared = sorted(set(keel) & set(etcd))
        self.assertGreater(len(shared), 30, shared)
        for name in shared:
            with self.subTest(family=name):
                self.assertEqual(keel[name].type, etcd[name].type)
                self.assertEqual(keel[name].documentation, etcd[name].documentation)
                if keel[name].type == "histogram":
                    def bounds(family):
                        return sorted({s.labels["le"] for s in family.samples
                                       if s.name.endswith("_bucket")})
                    if bounds(etcd[name]):
                        self.assertEqual(bounds(keel[name]), bounds(etcd[name]))
        for name in ("etcd_server_id", "etcd_server_version", "etcd_cluster_version"):
            self.assertEqual(len(samples[name]), 1, name)
            self.assertEqual(samples[name][0][1], 1.0, name)
        keel_only = sorted(n for n in keel if not n.startswith("keel_") and n not in etcd)
        # etcd registers its peer families only once it has peers; the one
        # etcd member here has none.
        self.assertEqual(keel_only, ["etcd_network_peer_received_bytes",
                                     "etcd_network_peer_round_trip_time_seconds",
                                     "etcd_network_peer_sent_bytes"])


class TlsMetricsListenerTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="keel-metrics-tls-")
        client, peer, https, http = harness.free_ports(4)
        self.https = f"https://127.0.0.1:{https}"
        self.http = f"http://127.0.0.1:{http}"
        args = [harness.keel_binary(), "--name", "m", "--data-dir", os.path.join(self.dir, "d"),
                "--auto-tls",
                "--listen-client-urls", f"https://127.0.0.1:{client}",
                "--advertise-client-urls", f"https://127.0.0.1:{client}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"m=http://127.0.0.1:{peer}",
                "--listen-metrics-urls", f"{self.https},{self.http}"]
        self.log_path = os.path.join(self.dir, "m.log")
        with open(self.log_path, "ab") as log:
            self.proc = harness.spawn(args, stdout=log, stderr=log, die_with_parent=True)

    def tearDown(self):
        harness.kill_process(self.proc)
        if os.environ.get("KEEL_INTEG_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def test_https_and_http_metrics_urls(self):
        # --auto-tls' certificate is self-signed: not verified here.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 30
        while True:
            self.assertIsNone(self.proc.poll(), open(self.log_path).read())
            status, body = harness.http_get(self.http + "/metrics", timeout=1.0)
            if status == 200 and "etcd_server_has_leader 1" in body:
                break
            self.assertLess(time.monotonic(), deadline, open(self.log_path).read())
            time.sleep(0.05)  # polling a real process: no event to wait on
        with urllib.request.urlopen(self.https + "/metrics", context=context, timeout=5) as r:
            samples, _ = parse(r.read().decode())
        self.assertEqual(total(samples, "etcd_server_has_leader"), 1)
        self.assertEqual(total(samples, "etcd_server_is_leader"), 1)


if __name__ == "__main__":
    compare.main()
