#!/usr/bin/env python3
"""The JSON gateway with curl, against keel and etcd 3.4, answers compared.

One keel member and one etcd 3.4 member (Debian's etcd) start side by side.
Seed 003's curl examples (/v3/kv/put, range, range with range_end, the two
txns, the auth walkthrough: user add, role add, grant, auth enable,
authenticate, a put carrying the token in `Authorization`, auth disable)
and a few more (lease grant/keepalive/timetolive/revoke, member list,
maintenance status, deleterange with prev_kv, error answers) run with the
curl binary on both, in the same order; each answer's HTTP status, its
Content-Type and CORS headers, and its JSON (after replacing what differs
between two clusters: cluster and member IDs, raft terms, lease IDs, tokens,
sizes and raft indexes) must be equal. A streaming /v3/watch over `curl -N`
receives the created line and the events of later writes on both, and
/v3/maintenance/snapshot streams a whole database as base64 blobs on both.
Then keel alone: bad input (malformed JSON, a wrong type, an unknown field,
trailing data, an oversized body, GET) gets a 400 (405) with the gateway's
error shape and the member stays healthy; /v3alpha/ answers as /v3/; with
--enable-grpc-gateway=false the paths are gone (404); --cors with a list
echoes only an allowed Origin, and OPTIONS answers a preflight.

Known difference left out: etcd's /v3/maintenance/alarm answer has no
header (its AlarmResponse never gets one); keel's has.

    python3 tests/integration/test_gateway.py --keel build/tools/keel
"""
import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import compare
import harness


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Single(harness.Cluster):
    SIZE = 1


def curl(url, body=None, headers=(), method="POST", timeout=10):
    """(status, headers dict with lowercased names, body text) of one request."""
    args = [harness.require_tool("curl"), "-s", "-i", "-X", method, "--max-time", str(timeout)]
    for h in headers:
        args += ["-H", h]
    if body is not None:
        args += ["--data-binary", "@-"]
    r = subprocess.run(args + [url], input=(body or "").encode(), capture_output=True,
                       timeout=timeout + 5)
    raw = r.stdout.decode(errors="replace")
    head, _, text = raw.partition("\r\n\r\n")
    while head.startswith("HTTP/1.1 100 "):  # curl's Expect: 100-continue
        head, _, text = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        raise AssertionError(f"curl {url}: no HTTP answer: {raw!r} {r.stderr!r}")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    return status, hdrs, text


# Fields whose values differ between any two clusters (or runs).
VOLATILE = {"cluster_id", "member_id", "raft_term", "ID", "token", "dbSize", "dbSizeInUse",
            "leader", "raftIndex", "raftTerm", "raftAppliedIndex", "version", "peerURLs",
            "clientURLs", "name", "hash", "TTL_remaining", "header_revision"}


def normalise(value, key=None):
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [normalise(v, key) for v in value]
    if key in VOLATILE:
        return f"<{key}>"
    return value


def shape(status, hdrs, text):
    """What is compared of an answer."""
    try:
        # etcd's errors are chunked with a trailer, which curl -i prints
        # after the body.
        body = (normalise(json.JSONDecoder().raw_decode(text)[0]) if text.strip().startswith("{")
                else text)
    except ValueError:
        body = text
    if isinstance(body, dict) and "remaining_TTL" in body:
        body["remaining_TTL"] = "<remaining>" if body["remaining_TTL"] else 0
    cors = {k: v for k, v in hdrs.items() if k.startswith("access-control-")}
    return {"status": status, "content-type": hdrs.get("content-type"), "cors": cors,
            "body": body}


class GatewayTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="keel-gateway-")
        cls.etcd = Single("etcd", cls.workdir)
        cls.keel = Single("keel", cls.workdir)
        try:
            cls.etcd.start(wait=False)
            cls.keel.start(wait=False)
            cls.etcd.wait_healthy(cls.etcd.members)
            cls.keel.wait_healthy(cls.keel.members)
        except BaseException:
            cls._stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop()

    @classmethod
    def _stop(cls):
        for c in (getattr(cls, "etcd", None), getattr(cls, "keel", None)):
            if c is not None:
                c.stop()
        if os.environ.get("KEEL_INTEG_KEEP"):
            print(f"kept {cls.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.workdir, ignore_errors=True)

    def url(self, cluster, path):
        return cluster.members[0].client_url + path

    def both(self, path, body=None, headers=(), method="POST", tokens=None):
        """Runs one curl on etcd then keel; compares; returns both parsed bodies.

        tokens: {"etcd": t, "keel": t} adds `Authorization: t` per cluster.
        """
        answers = {}
        for c in (self.etcd, self.keel):
            h = list(headers)
            if tokens:
                h.append(f"Authorization: {tokens[c.flavor]}")
            answers[c.flavor] = curl(self.url(c, path), body, h, method)
        want, got = shape(*answers["etcd"]), shape(*answers["keel"])
        if os.environ.get("KEEL_INTEG_SHOW"):
            print(f"\n=== {path} {body}\n{json.dumps(got)}", file=sys.stderr)
        with self.subTest(f"{method} {path} {body}"):
            self.assertEqual(want, got, f"{path}: keel (second) differs from etcd (first)")
        return {k: (json.JSONDecoder().raw_decode(v[2])[0] if v[2].strip().startswith("{")
                    else v[2]) for k, v in answers.items()}

    def test_1_seed_003_kv_and_txn(self):
        self.both("/v3/kv/put", '{"key": "Zm9v", "value": "YmFy"}')
        got = self.both("/v3/kv/range", '{"key": "Zm9v"}')
        self.assertEqual(got["keel"]["kvs"][0]["value"], "YmFy")
        self.both("/v3/kv/range", '{"key": "Zm9v", "range_end": "Zm9w"}')
        self.both("/v3/kv/txn", '{"compare":[{"target":"CREATE","key":"Zm9v",'
                  '"createRevision":"2"}],"success":[{"requestPut":{"key":"Zm9v",'
                  '"value":"YmFy"}}]}')
        self.both("/v3/kv/txn", '{"compare":[{"version":"4","result":"EQUAL",'
                  '"target":"VERSION","key":"Zm9v"}],"success":[{"requestRange":'
                  '{"key":"Zm9v"}}]}')
        self.both("/v3beta/kv/put", json.dumps({"key": b64("a/1"), "value": b64("x"),
                                                "prev_kv": True}))
        self.both("/v3/kv/put", json.dumps({"key": b64("a/1"), "value": b64("y"),
                                            "prev_kv": True}))
        self.both("/v3/kv/range", json.dumps({"key": b64("a/"), "range_end": b64("a0"),
                                              "count_only": True}))
        self.both("/v3/kv/deleterange", json.dumps({"key": b64("a/1"), "prev_kv": True}))
        # Errors: a future revision (OutOfRange), no key (InvalidArgument).
        self.both("/v3/kv/range", '{"key":"Zm9v","revision":"100"}')
        self.both("/v3/kv/range", '{}')
        self.both("/v3/kv/range", '{"key": ')
        self.both("/v3/kv/range", method="GET")
        self.both("/v3/kv/compaction", '{"revision":"3"}')
        self.both("/v3/kv/range", '{"key":"Zm9v","revision":"2"}')

    def test_2_lease_cluster_maintenance(self):
        self.both("/v3/lease/grant", '{"TTL":"60","ID":"4242"}')
        self.both("/v3/kv/put", json.dumps({"key": b64("leased"), "value": b64("v"),
                                            "lease": "4242"}))
        self.both("/v3/lease/timetolive", '{"ID":"4242","keys":true}')
        self.both("/v3/kv/lease/timetolive", '{"ID":"4242"}')
        self.both("/v3/lease/leases", '{}')
        self.both("/v3/lease/keepalive", '{"ID":"4242"}')
        self.both("/v3/lease/keepalive", '{"ID":"4242"} {"ID":"4242"}')  # two renewals
        self.both("/v3/lease/revoke", '{"ID":"4242"}')
        self.both("/v3/kv/lease/revoke", '{"ID":"4242"}')  # NotFound: 404
        self.both("/v3/kv/range", json.dumps({"key": b64("leased")}))
        self.both("/v3/cluster/member/list", '{}')
        self.both("/v3/maintenance/status", '')
        # (Not /v3/maintenance/alarm: etcd's AlarmResponse carries no header,
        # keel's does; a server-side difference the gateway only shows.)

    def test_3_streaming_watch(self):
        procs = {}
        for c in (self.etcd, self.keel):
            body = json.dumps({"create_request": {"key": b64("w"), "range_end": b64("x")}})
            procs[c.flavor] = harness.spawn(
                [harness.require_tool("curl"), "-s", "-N", "-X", "POST", "--data-binary", body,
                 self.url(c, "/v3/watch")],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, die_with_parent=True)
        try:
            lines = {k: [self.read_line(p)] for k, p in procs.items()}
            self.both("/v3/kv/put", json.dumps({"key": b64("w1"), "value": b64("1")}))
            self.both("/v3/kv/put", json.dumps({"key": b64("w2"), "value": b64("2")}))
            self.both("/v3/kv/deleterange", json.dumps({"key": b64("w1")}))
            for k, p in procs.items():
                lines[k] += [self.read_line(p) for _ in range(3)]
            norm = {k: [normalise(json.loads(line)) for line in v] for k, v in lines.items()}
            self.assertEqual(norm["etcd"], norm["keel"])
            self.assertTrue(norm["keel"][0]["result"]["created"])
            events = [e for line in norm["keel"][1:] for e in line["result"]["events"]]
            self.assertEqual([(e.get("type", "PUT"), e["kv"]["key"]) for e in events],
                             [("PUT", b64("w1")), ("PUT", b64("w2")), ("DELETE", b64("w1"))])
            self.assertIsNone(procs["keel"].poll(), "the watch stays open")
        finally:
            for p in procs.values():
                harness.kill_process(p)
                p.stdout.close()

    def read_line(self, proc, timeout=10.0):
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no watch line in {timeout}s (so far {line!r})")
            byte = os.read(proc.stdout.fileno(), 1)
            if not byte:
                raise AssertionError(f"watch ended: {line!r}")
            line += byte
        return line.decode()

    def test_4_seed_003_auth(self):
        self.both("/v3/auth/user/add", '{"name": "root", "password": "pass"}')
        self.both("/v3/auth/role/add", '{"name": "root"}')
        self.both("/v3/auth/user/grant", '{"user": "root", "role": "root"}')
        self.both("/v3/auth/enable", '{}')
        self.both("/v3/kv/put", '{"key": "Zm9v", "value": "YmFy"}')  # no token
        got = self.both("/v3/auth/authenticate", '{"name": "root", "password": "pass"}')
        tokens = {k: v["token"] for k, v in got.items()}
        self.assertTrue(tokens["keel"])
        self.both("/v3/auth/authenticate", '{"name": "root", "password": "wrong"}')
        self.both("/v3/kv/put", '{"key": "Zm9v", "value": "YmFy"}', tokens=tokens)
        self.both("/v3/kv/range", '{"key": "Zm9v"}', tokens=tokens)
        self.both("/v3/auth/user/get", '{"name": "root"}', tokens=tokens)
        self.both("/v3/kv/range", '{"key": "Zm9v"}',
                  tokens={"etcd": "bogus.1", "keel": "bogus.1"})
        self.both("/v3/auth/disable", '{}', tokens=tokens)
        self.both("/v3/kv/range", '{"key": "Zm9v"}')

    def test_5_keel_bad_input_and_prefixes(self):
        url = self.url(self.keel, "/v3/kv/range")
        cases = [
            ('{"key": ', "unexpected EOF"),
            ('{"key": 5}', "invalid request body"),
            ('{"key": "Zm9v", "nosuch": 1}', "nosuch"),
            ('[1]', "expected a JSON object"),
            ('{"key":"Zm9v"} trailing', "unexpected data after the request"),
        ]
        for body, text in cases:
            with self.subTest(body):
                status, hdrs, out = curl(url, body)
                self.assertEqual(status, 400, out)
                err = json.loads(out)
                self.assertEqual(set(err), {"error", "message", "code"})
                self.assertEqual(err["code"], 3)
                self.assertIn(text, err["message"])
        # Bigger than --max-request-bytes plus gRPC's overhead (1.5 MiB + 512 KiB).
        big = json.dumps({"key": b64("big"), "value": base64.b64encode(b"x" * (2200 << 10))
                          .decode()})
        status, _, out = curl(self.url(self.keel, "/v3/kv/put"), big)
        self.assertEqual(status, 400, out)
        self.assertIn("grpc: received message larger than max", json.loads(out)["message"])
        status, _, out = curl(url, method="GET")
        self.assertEqual((status, out), (405, "Method Not Allowed\n"))
        status, _, out = curl(self.url(self.keel, "/v3alpha/kv/range"), '{"key":"Zm9v"}')
        self.assertEqual(status, 200, out)
        self.assertEqual(json.loads(out)["kvs"][0]["key"], "Zm9v")
        status, body = harness.http_get(self.keel.members[0].client_url + "/health")
        self.assertEqual((status, body), (200, '{"health":"true"}'))

    def test_6_snapshot_streams_the_whole_database(self):
        for c in (self.etcd, self.keel):
            with self.subTest(c.flavor):
                status, hdrs, out = curl(self.url(c, "/v3/maintenance/snapshot"), "{}",
                                         timeout=30)
                self.assertEqual(status, 200)
                self.assertEqual(hdrs.get("transfer-encoding"), "chunked")
                lines = [json.loads(line) for line in out.splitlines() if line.strip()]
                self.assertGreater(len(lines), 0)
                blob = b"".join(base64.b64decode(line["result"].get("blob", ""))
                                for line in lines)
                self.assertEqual(lines[-1]["result"].get("remaining_bytes"), None,
                                 "the last message has 0 bytes left (omitted)")
                self.assertGreater(len(blob), 4096, "a bbolt file with its SHA-256")


    def test_7_lock_and_election(self):
        self.both("/v3/lease/grant", '{"TTL":"60","ID":"7777"}')
        got = self.both("/v3/lock/lock", json.dumps({"name": b64("mylock"), "lease": "7777"}))
        self.assertEqual(base64.b64decode(got["keel"]["key"]), b"mylock/1e61")
        self.both("/v3/kv/range", json.dumps({"key": b64("mylock/"), "range_end": b64("mylock0"),
                                              "keys_only": True}))
        self.both("/v3/lock/unlock", json.dumps({"key": got["etcd"]["key"]}))
        got = self.both("/v3/election/campaign", json.dumps(
            {"name": b64("myelection"), "lease": "7777", "value": b64("one")}))
        leader = got["keel"]["leader"]
        self.both("/v3/election/leader", json.dumps({"name": b64("myelection")}))
        self.both("/v3/election/proclaim", json.dumps({"leader": got["etcd"]["leader"],
                                                       "value": b64("two")}))
        self.both("/v3/election/leader", json.dumps({"name": b64("myelection")}))
        self.assertEqual(base64.b64decode(leader["key"]), b"myelection/1e61")
        self.both("/v3/election/resign", json.dumps({"leader": got["etcd"]["leader"]}))
        self.both("/v3/election/leader", json.dumps({"name": b64("myelection")}))
        self.both("/v3/lease/revoke", '{"ID":"7777"}')


class GatewayFlagsTest(unittest.TestCase):
    def test_disabled_gateway_is_not_routed(self):
        workdir = tempfile.mkdtemp(prefix="keel-gateway-off-")
        keel = Single("keel", workdir, extra_flags=["--enable-grpc-gateway=false",
                                                    "--cors=http://a.example"])
        try:
            keel.start()
            status, _, out = curl(keel.members[0].client_url + "/v3/kv/range", '{"key":"Zm9v"}')
            self.assertEqual(status, 404, out)
            status, body = harness.http_get(keel.members[0].client_url + "/version")
            self.assertEqual(status, 200, body)
        finally:
            keel.stop()
            shutil.rmtree(workdir, ignore_errors=True)

    def test_cors_echoes_an_allowed_origin_only(self):
        workdir = tempfile.mkdtemp(prefix="keel-gateway-cors-")
        keel = Single("keel", workdir, extra_flags=["--cors=http://a.example,http://b.example"])
        try:
            keel.start()
            url = keel.members[0].client_url + "/v3/maintenance/status"
            status, hdrs, _ = curl(url, "{}", ["Origin: http://b.example"])
            self.assertEqual(status, 200)
            self.assertEqual(hdrs.get("access-control-allow-origin"), "http://b.example")
            status, hdrs, _ = curl(url, "{}", ["Origin: http://evil.example"])
            self.assertEqual(status, 200)
            self.assertNotIn("access-control-allow-origin", hdrs)
            status, hdrs, out = curl(url, None, ["Origin: http://a.example"], method="OPTIONS")
            self.assertEqual((status, out), (200, ""))
            self.assertEqual(hdrs.get("access-control-allow-headers"),
                             "accept, content-type, authorization")
        finally:
            keel.stop()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    compare.main()
