#!/usr/bin/env python3
"""Gateway throughput: /v3/kv/put and /v3/kv/range QPS, keel against etcd 3.4.

Starts one keel member and one etcd member (harness.Cluster, one member
each, same flags), then for each in turn runs the same load: P client
processes, each with one keep-alive HTTP/1.1 connection (http.client),
sending POSTs back to back for S seconds: puts of 16-byte keys from a
1000-key space with 64-byte values, then ranges of single keys
(linearizable). Prints requests per second and mean latency per system and
operation. Not a test (no assertion); run by hand:

    python3 tests/integration/gateway_bench.py --keel build/tools/keel [-p 8] [-s 5]

On a shared machine the client processes compete with the server for the
cores, so figures are only comparable within one run.
"""
import argparse
import base64
import http.client
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time

import harness


class Single(harness.Cluster):
    SIZE = 1


def worker(args):
    host, port, op, seconds, index = args
    conn = http.client.HTTPConnection(host, port, timeout=10)
    value = base64.b64encode(b"v" * 64).decode()
    n = 0
    errors = 0
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        key = base64.b64encode(f"bench-{(index * 7919 + n) % 1000:010d}".encode()).decode()
        if op == "put":
            path, body = "/v3/kv/put", json.dumps({"key": key, "value": value})
        else:
            path, body = "/v3/kv/range", json.dumps({"key": key})
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            errors += 1
        n += 1
    return n, errors, time.monotonic() - start


def run(cluster, op, processes, seconds):
    host, port = cluster.members[0].endpoint.split(":")
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(worker, [(host, int(port), op, seconds, i) for i in range(processes)])
    total = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    return total / elapsed, processes * elapsed / max(total, 1) * 1000, errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keel", required=True)
    parser.add_argument("-p", "--processes", type=int, default=8)
    parser.add_argument("-s", "--seconds", type=float, default=5)
    args = parser.parse_args()
    os.environ["KEEL_BINARY"] = os.path.abspath(args.keel)
    workdir = tempfile.mkdtemp(prefix="keel-gateway-bench-")
    clusters = []
    try:
        for flavor in ("etcd", "keel"):
            c = Single(flavor, workdir)
            clusters.append(c)
            c.start()
        print(f"{args.processes} client processes, {args.seconds:g} s per run, "
              f"one keep-alive connection each")
        print(f"{'system':6} {'op':6} {'req/s':>9} {'mean ms':>8} {'errors':>6}")
        for op in ("put", "range"):
            for c in clusters:
                qps, mean_ms, errors = run(c, op, args.processes, args.seconds)
                print(f"{c.flavor:6} {op:6} {qps:9.0f} {mean_ms:8.2f} {errors:6d}")
    finally:
        for c in clusters:
            c.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
