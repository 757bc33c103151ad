"""etcdctl put, get, del and txn against keel and etcd 3.4, output compared.

Covers the flags issue 5 names (get --prefix, --from-key, --rev, --limit,
--keys-only, --print-value-only, -w json; del --prefix, --prev-kv,
--from-key; txn from stdin, plain and --interactive) plus the neighbours a
user meets: sort order, ranges (empty ones too), -w fields and -w protobuf,
--hex, serializable reads, and the errors etcd returns for bad input (empty
key, --ignore-value on a missing key, unknown or malformed lease, a request
too large, a future revision, duplicate keys and too many operations in a
txn, a txn etcdctl cannot parse). etcdctl 3.4 has no --count-only. The
methods run in name order and build on each other's data, so revisions line
up.
"""

import compare
import normalize


class KvTest(compare.CompareTestCase):

    def test_1_put_creates_and_updates_keys_like_etcd(self):
        self.both("put", "foo", "bar", expect_rc=0)
        self.both("put", "foo", "bar2", "--prev-kv", expect_rc=0)
        for key, value in [("foo1", "v1"), ("foo2", "v2"), ("foo3", "v3"), ("fop", "x"),
                           ("a/b", "c"), ("a/c", "d"), ("zoo", "z"),
                           ("sp ace", "v with spaces"), ("empty", "")]:
            self.both("put", key, value, expect_rc=0)
        self.both("put", "foo", "bar3", "-w", "json", expect_rc=0)
        self.both("put", "foo", "bar4", "--prev-kv", "-w", "json", expect_rc=0)
        self.both("put", "foo", "bar5", "--prev-kv", "-w", "fields", expect_rc=0)
        self.both("put", "stdin-key", stdin="line one\nline two\n", expect_rc=0)
        self.both("put", "foo2", "--ignore-value", expect_rc=0)
        self.both("put", "k" * 100000, "a key of 100000 bytes", expect_rc=0)
        self.both("get", "foo2", "stdin-key0", "-w", "json", expect_rc=0)

    def test_2_put_rejects_bad_input_like_etcd(self):
        self.both("put", "", "x", expect_rc=1)
        self.both("put", "missing", "--ignore-value", expect_rc=1)
        self.both("put", "foo", "v", "--lease=zzz", expect_rc=128)
        self.both("put", "foo", "v", "--lease=1234", expect_rc=1)
        self.both("put", expect_rc=128)
        # Over --max-request-bytes (1.5 MiB): etcd's own "request is too
        # large"; over the 2 MiB gRPC limit: gRPC's ResourceExhausted.
        self.both("put", "big", stdin="x" * (1600 * 1024), expect_rc=1)
        self.both("put", "big", stdin="x" * (2600 * 1024), expect_rc=1)
        self.both("put", "k" * 120000, stdin="y" * (1500 * 1024), expect_rc=1)
        self.both("get", "big", expect_rc=0)

    def test_3_get_reads_keys_ranges_and_revisions_like_etcd(self):
        self.both("get", "foo", expect_rc=0)
        self.both("get", "foo", "--prefix", expect_rc=0)
        self.both("get", "foo", "--from-key", expect_rc=0)
        self.both("get", "foo", "--from-key", "--limit=2", expect_rc=0)
        self.both("get", "foo", "foo3", expect_rc=0)
        self.both("get", "", "--prefix", "--keys-only", expect_rc=0)
        self.both("get", "", "--from-key", "--limit=3", "-w", "json", expect_rc=0)
        for rev in ("1", "2", "3", "5", "12"):
            self.both("get", "foo", "--prefix", f"--rev={rev}", expect_rc=0)
        self.both("get", "foo", "--rev=3", "-w", "json", expect_rc=0)
        self.both("get", "foo", "--prefix", "--limit=2", expect_rc=0)
        self.both("get", "foo", "--prefix", "--limit=2", "-w", "json", expect_rc=0)
        self.both("get", "foo", "--prefix", "--keys-only", expect_rc=0)
        self.both("get", "foo", "--prefix", "--keys-only", "-w", "json", expect_rc=0)
        self.both("get", "foo", "--prefix", "--print-value-only", expect_rc=0)
        self.both("get", "foo", "--prefix", "-w", "json", expect_rc=0)
        self.both("get", "foo", "-w", "fields", expect_rc=0)
        self.both("get", "foo", "--hex", expect_rc=0)
        self.both("get", "foo", "--prefix", "--sort-by=MODIFY", "--order=DESCEND", expect_rc=0)
        self.both("get", "foo", "--prefix", "--sort-by=VALUE", expect_rc=0)
        self.both("get", "foo", "--prefix", "--sort-by=VERSION", "--order=DESCEND",
                  "--limit=2", expect_rc=0)
        self.both("get", "", "--prefix", "--sort-by=CREATE", "--order=DESCEND",
                  "--keys-only", expect_rc=0)
        self.both("get", "sp ace", expect_rc=0)
        self.both("get", "empty", "-w", "json", expect_rc=0)
        self.both("get", "missing", expect_rc=0)
        self.both("get", "missing", "-w", "json", expect_rc=0)
        self.both("get", "foo", "--rev=-1", expect_rc=0)
        # A serializable read answers from the member's own state; the
        # linearizable read before it, on the same member, makes it current.
        for m in range(3):
            self.both("get", "foo", member=m, expect_rc=0)
            self.both("get", "foo", "--consistency=s", "-w", "json", member=m, expect_rc=0)

    def test_4_get_rejects_bad_requests_like_etcd(self):
        self.both("get", "", expect_rc=1)
        self.both("get", "foo", "--rev=1000", expect_rc=1)
        self.both("get", "foo", "-w", "table", expect_rc=4)
        self.both("get", "foo", "--sort-by=BOGUS", expect_rc=4)
        self.both("get", "foo", "--consistency=x", expect_rc=4)
        self.both("get", "foo", "--prefix", "--from-key", expect_rc=128)
        # Ranges whose end is not after their start are empty, not errors.
        self.both("get", "foo3", "foo1", expect_rc=0)
        self.both("get", "foo3", "foo3", "-w", "json", expect_rc=0)
        self.both("get", "foo", "--limit=-1", expect_rc=0)
        self.both("get", "a", "b", "--prefix", expect_rc=128)
        self.both("get", "foo", "--rev=abc", expect_rc=1)

    def test_5_del_removes_keys_like_etcd(self):
        self.both("del", "foo3", expect_rc=0)
        self.both("del", "foo", "--prev-kv", expect_rc=0)
        self.both("del", "a/", "--prefix", expect_rc=0)
        self.both("del", "a/", "--prefix", expect_rc=0)
        self.both("del", "foo1", "foo2", expect_rc=0)
        self.both("del", "zo", "--from-key", "--prev-kv", "-w", "json", expect_rc=0)
        self.both("del", "nothing", expect_rc=0)
        self.both("del", "nothing", "-w", "json", expect_rc=0)
        self.both("del", "fop", "--prev-kv", "-w", "json", expect_rc=0)
        self.both("del", "", expect_rc=1)
        self.both("get", "", "--prefix", "-w", "json", expect_rc=0)
        self.both("get", "foo", "--prefix", "--rev=18", "-w", "json", expect_rc=0)

    def test_6_txn_from_stdin_commits_like_etcd(self):
        self.both("put", "t1", "v1", expect_rc=0)
        self.both("put", "t2", "v2", expect_rc=0)
        # Compares that hold: the success branch runs.
        self.both("txn", stdin='value("t1") = "v1"\n\nput t1 "new"\nget t2\n\ndel t2\n\n',
                  expect_rc=0)
        # Compares that fail: the failure branch runs.
        self.both("txn", stdin='value("t1") = "v1"\n\nput t1 "no"\n\nput t3 "yes"\n'
                               'get t --prefix\n\n', expect_rc=0)
        self.both("txn", "-w", "json",
                  stdin='mod("t1") > "0"\nversion("t1") = "2"\ncreate("t1") < "100"\n'
                        'value("t2") != "zz"\n\nget t1\nput t4 x\nget t --prefix '
                        '--keys-only\n\nput t5 y\n\n', expect_rc=0)
        self.both("txn", stdin='version("nope") = "0"\ncreate("nope") = "0"\n\n'
                               'put nope created\n\n\n', expect_rc=0)
        self.both("txn", stdin='\nget t --from-key --limit=2\ndel t --prefix --prev-kv\n\n\n',
                  expect_rc=0)
        self.both("txn", "-w", "json", stdin='\n\n\n', expect_rc=0)
        self.both("txn", stdin='mod("t1") = "0"\n\n\n\n', expect_rc=0)
        self.both("txn", "-w", "fields", stdin='\nput tf 1\nget tf\n\n\n', expect_rc=0)
        # --interactive prompts for each part on stdout.
        self.both("txn", "-i", stdin='value("tf") = "1"\n\nput tf 2\nget tf\n\nget t1\n\n',
                  expect_rc=0)
        self.both("txn", "--interactive", "-w", "json",
                  stdin='version("tf") = "1"\n\nput tf 3\n\ndel tf --prev-kv\n\n',
                  expect_rc=0)
        self.both("get", "", "--prefix", "-w", "json", expect_rc=0)

    def test_7_txn_rejects_bad_requests_like_etcd(self):
        self.both("txn", stdin='\nput d a\nput d b\n\n\n', expect_rc=1)
        self.both("txn", stdin='\nput d a\ndel d\n\n\n', expect_rc=1)
        self.both("txn", stdin='\nput "" a\n\n\n', expect_rc=1)
        ops = "".join(f"put many{i} v\n" for i in range(129))
        self.both("txn", stdin=f"\n{ops}\n\n", expect_rc=1)
        # etcdctl's own parser: errors it prints before reaching a server.
        self.both("txn", stdin='bogus\n\n\n\n', expect_rc=3)
        self.both("txn", stdin='value("t1") =\n\n\n\n', expect_rc=3)
        self.both("txn", stdin='\nfrobnicate t1\n\n\n', expect_rc=3)
        self.both("txn", "-w", "table", stdin='\nput t9 a\n\n\n', expect_rc=4)
        self.both("get", "", "--prefix", "--keys-only", expect_rc=0)

    def test_8_protobuf_output_matches_etcd(self):
        shape = normalize.protobuf
        self.both("put", "pb", "v1", "-w", "protobuf", shape=shape, expect_rc=0)
        self.both("put", "pb", "v2", "--prev-kv", "-w", "protobuf", shape=shape, expect_rc=0)
        self.both("get", "pb", "-w", "protobuf", shape=shape, expect_rc=0)
        self.both("get", "", "--prefix", "--keys-only", "--limit=3", "-w", "protobuf",
                  shape=shape, expect_rc=0)
        self.both("txn", "-w", "protobuf",
                  stdin='value("pb") = "v2"\n\nget pb\nput pb v3\ndel nothing\n\n\n',
                  shape=shape, expect_rc=0)
        self.both("del", "pb", "--prev-kv", "-w", "protobuf", shape=shape, expect_rc=0)


if __name__ == "__main__":
    compare.main()
