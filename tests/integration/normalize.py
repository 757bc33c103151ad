"""Normalises etcdctl output so keel's and etcd's can be compared as text.

Issue 5 allows keel's output to differ from etcd's only in identifiers,
raft terms, raft indexes, database sizes and timings. Everything else
(revisions, keys, values, counts, error messages, exit codes, layout) is
compared exactly. A Normalizer belongs to one cluster and replaces:

  - loopback ports with the member's role: 127.0.0.1:<client1>, <peer2> ...
    (the two clusters listen on different free ports);
  - member IDs with <infraN>, the cluster ID with <cluster>, lease IDs with
    <lease-N> in grant order (hex and decimal forms alike): etcd derives
    member IDs from URLs and the time, lease IDs from the clock;
  - raft terms and indexes, DB sizes and the TOOK/remaining timings, in
    JSON by field name and in simple/table output by column;
  - the timestamp and client UUID in etcdctl's own zap warning lines.

Things that legitimately vary between two runs of the *same* server are
handled by the callers, not here: which member is leader (the tests check
there is exactly one and then hide it), the order `endpoint health` prints
endpoints in (completion order), the order `member list` prints members in
(sorted by the random IDs), and the order `lease list` prints leases in.
"""

import json
import re

_PORT = re.compile(r"127\.0\.0\.1:(\d+)")
_ZAP_TS = re.compile(r'"ts":"[^"]*"')
_ZAP_TARGET = re.compile(r'endpoint://client-[0-9a-f-]+/')
_DECIMAL = re.compile(r"(?<![\w.])\d{4,20}(?![\w.])")
_HEX = re.compile(r"(?<![\w.])[0-9a-f]{4,16}(?![\w.])")
_JSON_FIELDS = {
    "raft_term": "<term>", "raftTerm": "<term>",
    "raftIndex": "<index>", "raftAppliedIndex": "<index>",
    "dbSize": "<size>", "dbSizeInUse": "<size>",
}
_JSON_FIELD = re.compile(r'"(%s)":(\d+)' % "|".join(_JSON_FIELDS))
_FIELDS_TERM = re.compile(r'^"RaftTerm" : \d+$', re.M)
_TOOK = re.compile(r"took = [0-9.]+[µmn]?s")
_TOOK_JSON = re.compile(r'"took":"[0-9.]+[µmn]?s"')
_TOOK_FIELDS = re.compile(r'^"Took" : [0-9.]+[µmn]?s$', re.M)
_TTL_REMAINING = re.compile(r"remaining\((-?\d+)s\)")


class Normalizer:
    def __init__(self, cluster):
        self.ports = {}
        for m in cluster.members:
            self.ports[m.client_port] = f"<client{m.index + 1}>"
            self.ports[m.peer_port] = f"<peer{m.index + 1}>"
        self.ids = {}  # int id -> label
        self.leases = []  # lease ids in grant order

    def add_id(self, value, label):
        self.ids[int(value)] = label

    def add_members(self, ids_by_name, cluster_id):
        for name, mid in ids_by_name.items():
            self.add_id(mid, f"<{name}>")
        self.add_id(cluster_id, "<cluster>")

    def add_lease(self, lease_id):
        """Registers a lease ID (int); returns its label."""
        if lease_id not in self.ids:
            self.leases.append(lease_id)
            self.add_id(lease_id, f"<lease-{len(self.leases)}>")
        return self.ids[lease_id]

    def lease_hex(self, n):
        """The hex form etcdctl takes for the n-th granted lease (1-based)."""
        return format(self.leases[n - 1], "x")

    # --- generic text --------------------------------------------------

    def text(self, s):
        s = _ZAP_TS.sub('"ts":"<ts>"', s)
        s = _ZAP_TARGET.sub("endpoint://client-<uuid>/", s)
        s = _PORT.sub(lambda m: "127.0.0.1:" + self.ports.get(int(m.group(1)), m.group(1)), s)
        s = _DECIMAL.sub(lambda m: self.ids.get(int(m.group(0)), m.group(0)), s)
        s = _HEX.sub(lambda m: self.ids.get(int(m.group(0), 16), m.group(0)), s)
        s = _JSON_FIELD.sub(lambda m: f'"{m.group(1)}":{_JSON_FIELDS[m.group(1)]}', s)
        s = _FIELDS_TERM.sub('"RaftTerm" : <term>', s)
        s = _TOOK.sub("took = <took>", s)
        s = _TOOK_JSON.sub('"took":"<took>"', s)
        s = _TOOK_FIELDS.sub('"Took" : <took>', s)
        return s


# --- command-specific shapes --------------------------------------------

def table_rows(text):
    """The cells of an etcdctl table, border lines dropped."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif line and not line.startswith("+"):
            rows.append([line])  # anything that is not table: keep verbatim
    return rows


def render_rows(rows):
    return "\n".join(" | ".join(r) for r in rows) + ("\n" if rows else "")


def mask_columns(rows, masks):
    """Replaces the cells of columns named in masks (header -> placeholder)."""
    if not rows:
        return rows
    header = rows[0]
    idx = {i: masks[h] for i, h in enumerate(header) if h in masks}
    return [header] + [[idx.get(i, c) for i, c in enumerate(r)] for r in rows[1:]]


STATUS_TABLE_MASKS = {"DB SIZE": "<size>", "IS LEADER": "<is-leader>",
                      "RAFT TERM": "<term>", "RAFT INDEX": "<index>",
                      "RAFT APPLIED INDEX": "<index>"}
HEALTH_TABLE_MASKS = {"TOOK": "<took>"}
# Columns of `endpoint status` in simple output, by position.
STATUS_SIMPLE_MASKS = {3: "<size>", 4: "<is-leader>", 6: "<term>", 7: "<index>",
                       8: "<index>"}


def status_simple(text):
    out = []
    for line in text.splitlines():
        cells = line.split(", ")
        if len(cells) == 10:
            cells = [STATUS_SIMPLE_MASKS.get(i, c) for i, c in enumerate(cells)]
        out.append(", ".join(cells))
    return "\n".join(out) + ("\n" if out else "")


def status_json(text):
    """Hides the leader's ID (raw JSON in, before Normalizer.text)."""
    data = json.loads(text)
    for entry in data:
        if "leader" in entry.get("Status", {}):
            entry["Status"]["leader"] = "<leader>"
    return json.dumps(data, sort_keys=False, separators=(",", ":")) + "\n"


def sorted_lines(text):
    lines = text.splitlines()
    return "\n".join(sorted(lines)) + ("\n" if lines else "")


def sorted_table(text, masks=None):
    rows = table_rows(text)
    if masks:
        rows = mask_columns(rows, masks)
    return render_rows(rows[:1] + sorted(rows[1:]))


def health_json(text):
    """Endpoints sorted (after Normalizer.text, so by role)."""
    data = json.loads(text)
    data.sort(key=lambda e: e.get("endpoint", ""))
    return json.dumps(data, separators=(",", ":")) + "\n"


def members_json(text):
    """Members sorted by name (raw JSON in, before Normalizer.text)."""
    data = json.loads(text)
    data.get("members", []).sort(key=lambda m: m.get("name", ""))
    return json.dumps(data, separators=(",", ":")) + "\n"


def ttl_remaining(text, granted):
    """Masks remaining(Ns) once it is checked to lie in (granted-5, granted]."""
    def repl(m):
        left = int(m.group(1))
        if granted - 5 < left <= granted:
            return "remaining(<ttl>)"
        return m.group(0)
    return _TTL_REMAINING.sub(repl, text)


# --- -w protobuf ----------------------------------------------------------
#
# etcdctl -w protobuf prints the response message's wire bytes. They are
# decoded here with no schema: a length-delimited field is shown as text
# when it is printable UTF-8, as a nested message when it parses as one,
# and as hex otherwise. The only fields masked are the response header's
# raft_term (field 4 of the top-level field 1); member, cluster and lease
# IDs are varints and get their labels like everywhere else.

def _read_varint(buf, i):
    shift = value = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def pb_fields(buf):
    """[(field number, wire type, value)] of one message; ValueError if malformed."""
    fields, i = [], 0
    while i < len(buf):
        tag, i = _read_varint(buf, i)
        num, wt = tag >> 3, tag & 7
        if num == 0:
            raise ValueError("field 0")
        if wt == 0:
            value, i = _read_varint(buf, i)
        elif wt == 1:
            if i + 8 > len(buf):
                raise ValueError("truncated fixed64")
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 5:
            if i + 4 > len(buf):
                raise ValueError("truncated fixed32")
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        elif wt == 2:
            n, i = _read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated bytes")
            value, i = bytes(buf[i:i + n]), i + n
        else:
            raise ValueError(f"wire type {wt}")
        fields.append((num, wt, value))
    return fields


def _printable(b):
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return s if all(0x20 <= ord(c) != 0x7F for c in s) else None


def _pb_render(n, buf, indent, is_header):
    lines = []
    pad = "  " * indent
    for num, wt, value in pb_fields(buf):
        if wt == 2:
            text = _printable(value)
            if text is not None or not value:
                lines.append(f"{pad}{num}: {n.text(repr(text or ''))}")
                continue
            try:
                inner = _pb_render(n, value, indent + 1, indent == 0 and num == 1)
                lines.append(f"{pad}{num} {{")
                lines.extend(inner)
                lines.append(f"{pad}}}")
            except ValueError:
                lines.append(f"{pad}{num}: 0x{value.hex()}")
        elif is_header and num == 4:
            lines.append(f"{pad}{num}: <term>")
        else:
            lines.append(f"{pad}{num}: {n.ids.get(value, value)}")
    return lines


def protobuf(n, text, sort_repeated=False):
    """A -w protobuf response as indented field lines, IDs labelled.

    sort_repeated sorts the top-level fields by their rendering, for
    repeated fields whose order is not defined (members by random ID).
    """
    raw = text.encode("utf-8", errors="surrogateescape")
    lines = _pb_render(n, raw, 0, False)
    if sort_repeated:
        entries = []
        for line in lines:
            if line.startswith(" ") or line == "}":
                entries[-1] += "\n" + line
            else:
                entries.append(line)
        lines = sorted(entries)
    return "\n".join(lines) + "\n"
