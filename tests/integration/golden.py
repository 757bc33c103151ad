"""Runs the same etcdctl command lines with keelctl and etcdctl; compares.

A golden block is a list of steps run against one cluster, first with
Debian's etcdctl and then with keelctl, each run starting from the same
state (reset(): every lease revoked, every key deleted, the block's keys
put in one transaction). Both tools talk to the same server, so member and
cluster IDs and values are equal as they are; what legitimately differs
between the two runs is normalised, and nothing else:

  - revisions are shown relative to the run's base revision (the setup
    transaction's), as r+N, in every format (json and fields by field
    name, protobuf by the schema of etcd's responses, `compacted revision
    N`): equal relative revisions are required;
  - lease IDs (granted by each run) become <lease-1>, <lease-2> ... in
    order of appearance, hex and decimal alike;
  - raft terms and indexes, DB sizes and timings are masked;
  - etcdctl's zap log lines: warnings (clientv3's retry chatter) are
    dropped, info lines are reduced to their message.

Steps are argument lists; {rev+N} stands for base+N, {lease} for the
block's setup lease (hex), {member:K} for member K's hex ID.
"""

import json
import os
import re
import signal
import subprocess
import time

import harness

_ZAP = re.compile(r'^\{"level":"(\w+)".*?"msg":"((?:[^"\\]|\\.)*)".*\}$')
_TOOK = re.compile(r"took = [0-9.]+[µmn]?s")
_REV_JSON = ("revision", "create_revision", "mod_revision", "compact_revision")
_MASK_JSON = {"raft_term": "<term>", "raftTerm": "<term>", "raftIndex": "<index>",
              "raftAppliedIndex": "<index>", "dbSize": "<size>", "dbSizeInUse": "<size>",
              "took": "<took>"}
_FIELDS_REV = re.compile(r'^"(Prev)?(Revision|CreateRevision|ModRevision)" : (\d+)$', re.M)
_FIELDS_MASK = re.compile(r'^"(RaftTerm|RaftIndex|RaftAppliedIndex|DBSize|Took)" : .*$', re.M)


class Run:
    """One tool's run of a block: its base revision and the leases it saw."""

    def __init__(self, base, setup_leases):
        self.base = base
        self.leases = {}  # id -> label
        for lease in setup_leases:
            self.label(lease)

    def label(self, lease_id):
        if lease_id not in self.leases:
            self.leases[lease_id] = f"<lease-{len(self.leases) + 1}>"
        return self.leases[lease_id]

    def rev(self, value):
        value = int(value)
        if value <= 0:
            return str(value)
        return f"r{value - self.base:+d}"


# --- protobuf: a walk with the schema of the responses keelctl prints -------

_KV = {2: "rev", 3: "rev", 6: "lease"}
_HEADER = {3: "rev", 4: "term"}
_SCHEMA = {
    "header": {1: ("msg", "header")},
    "range": {1: ("msg", "header"), 2: ("msg", "kv")},
    "put": {1: ("msg", "header"), 2: ("msg", "kv")},
    "del": {1: ("msg", "header"), 3: ("msg", "kv")},
    "txn": {1: ("msg", "header"), 3: ("msg", "op")},
    "op": {1: ("msg", "range"), 2: ("msg", "put"), 3: ("msg", "del")},
    "watch": {1: ("msg", "header"), 5: "rev", 11: ("msg", "event")},
    "event": {2: ("msg", "kv"), 3: ("msg", "kv")},
    "kv": _KV,
    "header_fields": _HEADER,
}


def _pb_render(run, buf, kind, indent=0):
    import normalize
    schema = _SCHEMA.get(kind, {})
    if kind == "header":
        schema = {**_HEADER}
    lines = []
    pad = "  " * indent
    for num, wt, value in normalize.pb_fields(buf):
        rule = schema.get(num)
        if isinstance(rule, tuple):
            lines.append(f"{pad}{num} {{")
            lines.extend(_pb_render(run, value, rule[1], indent + 1))
            lines.append(f"{pad}}}")
        elif rule == "rev":
            lines.append(f"{pad}{num}: {run.rev(value)}")
        elif rule == "term":
            lines.append(f"{pad}{num}: <term>")
        elif rule == "lease":
            lines.append(f"{pad}{num}: {run.label(value) if value else 0}")
        elif wt == 2:
            lines.append(f"{pad}{num}: {value!r}")
        else:
            lines.append(f"{pad}{num}: {value}")
    return lines


def protobuf(run, text, kind):
    raw = text.encode("utf-8", errors="surrogateescape")
    return "\n".join(_pb_render(run, raw, kind)) + "\n"


# --- text ------------------------------------------------------------------

def _json_walk(run, value, key=None):
    if isinstance(value, dict):
        return {k: _json_walk(run, v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_walk(run, v, key) for v in value]
    if key in _REV_JSON and isinstance(value, int):
        return run.rev(value)
    if key in _MASK_JSON:
        return _MASK_JSON[key]
    if key in ("ID", "id", "lease") and isinstance(value, int) and value in run.leases:
        return run.leases[value]
    return value


def _leases_in_text(run, text):
    for lease_id, label in sorted(run.leases.items(), key=lambda kv: -len(str(kv[0]))):
        text = text.replace(f"{lease_id:016x}", label).replace(f"{lease_id:x}", label)
        text = re.sub(rf"(?<!\d){lease_id}(?!\d)", label, text)
    return text


def learn_leases(run, text):
    """Labels the leases a step granted, as its output names them."""
    for m in re.finditer(r"lease ([0-9a-f]{16}) granted", text):
        run.label(int(m.group(1), 16))
    for m in re.finditer(r'"ID":(\d+),"TTL"', text):
        run.label(int(m.group(1)))
    for m in re.finditer(r'^"ID" : (\d+)\n"TTL"', text, re.M):
        run.label(int(m.group(1)))


def normalise(run, text, fmt, pb_kind=None):
    """One output (stdout) of a run, normalised for its format."""
    learn_leases(run, text)
    if fmt == "protobuf" and pb_kind and text:
        try:
            return protobuf(run, text, pb_kind)
        except ValueError as e:
            return f"(undecodable protobuf: {e})\n"
    lines = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if fmt == "json" and stripped.startswith(("{", "[")):
            try:
                line = json.dumps(_json_walk(run, json.loads(stripped)),
                                  separators=(",", ":")) + "\n"
            except ValueError:
                pass
        lines.append(line)
    text = "".join(lines)
    text = _FIELDS_REV.sub(lambda m: f'"{m.group(1) or ""}{m.group(2)}" : {run.rev(m.group(3))}', text)
    text = _FIELDS_MASK.sub(lambda m: f'"{m.group(1)}" : <masked>', text)
    text = _TOOK.sub("took = <took>", text)
    text = re.sub(r"compacted revision (\d+)", lambda m: f"compacted revision {run.rev(m.group(1))}", text)
    return _leases_in_text(run, text)


def normalise_err(run, text):
    out = []
    for line in text.splitlines():
        m = _ZAP.match(line)
        if m:
            if m.group(1) == "info":
                out.append(f"<log: {m.group(2)}>")
            continue  # warnings are diagnostics, not the contract
        line = _TOOK.sub("took = <took>", line)
        line = re.sub(r"revision:(\d+)", lambda m: f"revision:{run.rev(m.group(1))}", line)
        line = re.sub(r"raft_term:(\d+)", "raft_term:<term>", line)
        out.append(line)
    return _leases_in_text(run, "\n".join(out) + ("\n" if out else ""))


def mask_table_columns(text, names):
    """Masks whole columns of an etcdctl table by header name (the table
    is then shown as cells, its padding gone with the masked widths)."""
    rows = text.splitlines()
    header = next((r for r in rows if r.startswith("|")), None)
    if header is None:
        return text
    cells = [c.strip() for c in header.strip("|").split("|")]
    masked = [i for i, c in enumerate(cells) if c in names]
    if not masked:
        return text
    out = []
    for row in rows:
        if row.startswith("|"):
            parts = [c.strip() for c in row.strip("|").split("|")]
            if row != header:
                for i in masked:
                    parts[i] = "<masked>"
            row = "| " + " | ".join(parts) + " |"
        elif row.startswith("+"):
            row = "+"
        out.append(row)
    return "\n".join(out) + "\n"


def mask_simple_columns(text, columns, width):
    out = []
    for line in text.splitlines():
        cells = line.split(", ")
        if len(cells) == width:
            cells = ["<masked>" if i in columns else c for i, c in enumerate(cells)]
        out.append(", ".join(cells))
    return "\n".join(out) + ("\n" if out else "")


# --- running the tools -----------------------------------------------------

class Tools:
    """etcdctl and keelctl against one cluster."""

    def __init__(self, cluster, keelctl):
        self.cluster = cluster
        self.paths = {"etcdctl": harness.require_tool("etcdctl"), "keelctl": keelctl}

    def argv(self, tool, args, members=None):
        endpoints = self.cluster.endpoints(members)
        return [self.paths[tool], f"--endpoints={endpoints}", *args]

    def run(self, tool, args, stdin=None, members=None, timeout=30.0, env=None):
        full_env = dict(os.environ, ETCDCTL_API="3", **(env or {}))
        proc = harness.spawn(self.argv(tool, args, members), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE,
                             stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             env=full_env)
        try:
            out, err = proc.communicate(input=stdin.encode() if stdin is not None else None,
                                        timeout=timeout)
        except subprocess.TimeoutExpired:
            harness.kill_process(proc)
            raise AssertionError(f"{tool} {' '.join(args)} did not finish in {timeout}s")
        finally:
            with harness._LIVE_LOCK:
                harness._LIVE.discard(proc)
        return harness.Result(list(args), proc.returncode,
                              out.decode(errors="surrogateescape"), err.decode(errors="replace"))

    def background(self, tool, args, path, members=None, stdin_pipe=False):
        env = dict(os.environ, ETCDCTL_API="3")
        with open(path, "wb") as out, open(path + ".err", "wb") as err:
            return harness.spawn(self.argv(tool, args, members), stdout=out, stderr=err, env=env,
                                 stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                 die_with_parent=True)

    def etcdctl(self, *args, stdin=None):
        r = self.run("etcdctl", list(args), stdin=stdin)
        assert r.rc == 0, f"setup etcdctl {args}: {r}"
        return r

    def reset(self, keys=(), lease_ttl=None, lease_keys=()):
        """Revokes every lease, deletes every key, puts `keys` in one txn.

        Returns (base revision, [setup lease id]).
        """
        listed = json.loads(self.etcdctl("lease", "list", "-w", "json").out)
        for lease in listed.get("leases") or []:
            self.run("etcdctl", ["lease", "revoke", f"{lease['id']:x}"])
        leases = []
        lease_flag = []
        if lease_ttl is not None:
            granted = json.loads(self.etcdctl("lease", "grant", str(lease_ttl), "-w", "json").out)
            leases.append(granted["ID"])
            lease_flag = [f"--lease={granted['ID']:x}"]
        # The delete is a command of its own: etcd takes a txn that deletes
        # from "\0" and puts keys, keel refuses it as a duplicate key.
        self.etcdctl("del", "", "--prefix")
        ops = [f'put {k} "{v}"' for k, v in keys]
        ops += [f'put {k} "{v}" {" ".join(lease_flag)}' for k, v in lease_keys]
        txn = "\n" + "\n".join(ops) + "\n\n\n"
        resp = json.loads(self.etcdctl("txn", "-w", "json", stdin=txn).out)
        return resp["header"]["revision"], leases


def wait_for(path, text, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            if text.encode() in f.read():
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)  # polling a real process's output file
    return False


def stop(proc, sig=signal.SIGINT, timeout=10.0):
    """Signals proc (the tool itself, not its group) and reaps it."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        harness.kill_process(proc)
    with harness._LIVE_LOCK:
        harness._LIVE.discard(proc)
    return proc.returncode
