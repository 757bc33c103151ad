#!/usr/bin/env python3
"""keel under real faults: three members in network namespaces.

One run (README.md has the details):
  1. makes a switch namespace holding a bridge, a client namespace and one
     namespace per member, joined by veth pairs (10.77.0.0/24, private to
     the run's namespaces, so runs and the host's own networks never meet);
  2. starts three keel processes, one per member namespace (the third
     member's data dir on a small tmpfs, for the full-disk fault);
  3. runs keel-chaos-client in the client namespace for --duration seconds,
     recording a history (check/FORMAT.md);
  4. meanwhile injects --faults faults drawn from --seed: partitions and
     one-way drops (nft in the members' namespaces), delay (tc netem, or a
     slow tbf link where the kernel has no netem) and loss (nft), SIGSTOP /
     SIGCONT, SIGKILL and restart, a full disk;
  5. heals everything, waits for the client's final read-out, runs
     keel-check on the history, and waits for every member to report the
     same HashKV at the same revision;
  6. prints a summary (faults, operations checked, verdicts) ending in
     "chaos: PASS" or "chaos: FAIL ...".

Everything it makes (namespaces, mounts, processes, the temp dir) is removed
on any exit: normal, failure, exception, SIGINT/SIGTERM/SIGHUP. Processes
are tied to this one by PR_SET_PDEATHSIG, so even a SIGKILLed run leaves no
process; its namespaces and mount are swept by the next run (names carry the
pid of the run that made them).

Needs root, iproute2 (ip, tc), nftables, util-linux (setpriv, mount) and
etcdctl (Debian's etcd-client): ci/install-deps installs them.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SUBNET = "10.77.0."
CLIENT_IP = SUBNET + "2"
MEMBERS = 3
# The member whose data dir is a tmpfs of this size (the full-disk fault's
# target): room for keel's preallocated 64 MiB WAL segments and LevelDB.
DISK_MEMBER = 2
DISK_MB = 192
NS_PREFIX = "kchaos"

FAULT_KINDS = ["partition", "partition-pair", "one-way", "client-cut", "delay", "loss",
               "pause", "kill", "disk-full"]
# Relative weights once every kind has been drawn once.
# Network faults that may run alongside another fault, on another member.
COMPANION_KINDS = ["one-way", "loss", "delay", "client-cut"]
COMPANION_CHANCE = 0.3
FAULT_WEIGHTS = {"partition": 3, "partition-pair": 1, "one-way": 2, "client-cut": 1,
                 "delay": 2, "loss": 2, "pause": 3, "kill": 3, "disk-full": 1}


def log(msg):
    print(msg, flush=True)


def run(args, check=True, timeout=30):
    """Runs a command, returning its CompletedProcess (text output)."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()}")
    return proc


class Cleanup:
    """Undo actions run last-in first-out, each once, errors reported."""

    def __init__(self):
        self.actions = []

    def push(self, what, fn):
        self.actions.append((what, fn))

    def run_all(self):
        while self.actions:
            what, fn = self.actions.pop()
            try:
                fn()
            except Exception as e:  # keep undoing the rest
                print(f"chaos: cleanup {what}: {e}", file=sys.stderr, flush=True)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def sweep_stale():
    """Removes namespaces and mounts left by runs that were SIGKILLed."""
    names = run(["ip", "netns", "list"], check=False).stdout.split()
    for name in names:
        m = re.fullmatch(NS_PREFIX + r"(\d+)-\w+", name)
        if m and not pid_alive(int(m.group(1))):
            run(["ip", "netns", "del", name], check=False)
    with open("/proc/mounts") as f:
        for line in f:
            mnt = line.split()[1]
            m = re.search(r"/keel-chaos-(\d+)-[^/]*/", mnt + "/")
            if m and not pid_alive(int(m.group(1))):
                run(["umount", "-l", mnt], check=False)


class Net:
    """The namespaces: switch (a bridge), client, member 0..n-1."""

    def __init__(self, cleanup):
        self.cleanup = cleanup
        self.prefix = f"{NS_PREFIX}{os.getpid()}-"
        self.switch = self.prefix + "sw"
        self.client = self.prefix + "c"
        self.members = [self.prefix + f"m{i}" for i in range(MEMBERS)]
        self.netem = False

    def add_ns(self, name):
        run(["ip", "netns", "add", name])
        self.cleanup.push(f"netns {name}", lambda: run(["ip", "netns", "del", name]))
        run(["ip", "-n", name, "link", "set", "lo", "up"])

    def setup(self):
        self.add_ns(self.switch)
        run(["ip", "-n", self.switch, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", self.switch, "link", "set", "br0", "up"])
        for index, (ns, ip) in enumerate([(self.client, CLIENT_IP)] +
                                         [(m, member_ip(i)) for i, m in enumerate(self.members)]):
            self.add_ns(ns)
            port = f"p{index}"
            run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port,
                 "netns", self.switch])
            run(["ip", "-n", self.switch, "link", "set", port, "master", "br0"])
            run(["ip", "-n", self.switch, "link", "set", port, "up"])
            run(["ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        for ns in self.members:
            # Fault rules live in one table per member namespace; healing
            # flushes its chains.
            nft(ns, "add table inet chaos")
            nft(ns, "add chain inet chaos input { type filter hook input priority 0; }")
            nft(ns, "add chain inet chaos output { type filter hook output priority 0; }")
        probe = run(["ip", "netns", "exec", self.members[0], "tc", "qdisc", "add", "dev", "eth0",
                     "root", "netem", "delay", "1ms"], check=False)
        self.netem = probe.returncode == 0
        if self.netem:
            run(["ip", "netns", "exec", self.members[0], "tc", "qdisc", "del", "dev", "eth0",
                 "root"])

    def drop(self, member, chain, addr_field, ips):
        ns = self.members[member]
        ip_set = ", ".join(ips)
        nft(ns, f"add rule inet chaos {chain} ip {addr_field} {{ {ip_set} }} drop")

    def loss(self, member, percent):
        nft(self.members[member],
            f"add rule inet chaos input numgen random mod 100 < {percent} drop")

    def delay(self, member, ms, jitter):
        ns = self.members[member]
        if self.netem:
            run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                 "delay", f"{ms}ms", f"{jitter}ms"])
            return f"netem delay {ms}ms±{jitter}ms"
        # No netem in this kernel: a slow link (packets queue behind each
        # other, up to `latency` long) delays what a member sends.
        run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf",
             "rate", "256kbit", "burst", "4kb", "latency", f"{ms * 4}ms"])
        return f"tbf 256kbit, queue up to {ms * 4}ms (no netem in this kernel)"

    def heal(self, member):
        ns = self.members[member]
        nft(ns, "flush chain inet chaos input")
        nft(ns, "flush chain inet chaos output")
        run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "root"], check=False)


def nft(ns, rule):
    run(["ip", "netns", "exec", ns, "nft", rule])


def member_ip(i):
    return SUBNET + str(11 + i)


class Member:
    def __init__(self, index, args, net, workdir):
        self.index = index
        self.name = f"m{index}"
        self.ns = net.members[index]
        self.ip = member_ip(index)
        self.keel = args.keel
        self.data_dir = os.path.join(workdir, self.name, "data")
        self.log_path = os.path.join(workdir, f"{self.name}.log")
        self.proc = None
        self.starts = 0
        self.paused = False

    def argv(self, initial_cluster):
        return ["ip", "netns", "exec", self.ns, "setpriv", "--pdeathsig", "KILL", "--",
                self.keel, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", f"http://{self.ip}:2379",
                "--advertise-client-urls", f"http://{self.ip}:2379",
                "--listen-peer-urls", f"http://{self.ip}:2380",
                "--initial-advertise-peer-urls", f"http://{self.ip}:2380",
                "--initial-cluster", initial_cluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", f"chaos-{os.getpid()}"]

    def start(self, initial_cluster):
        assert self.proc is None or self.proc.poll() is not None
        logf = open(self.log_path, "a")
        logf.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')} ---\n")
        logf.flush()
        # `ip netns exec` and setpriv exec: the Popen pid is keel's.
        self.proc = subprocess.Popen(self.argv(initial_cluster), stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logf.close()
        self.starts += 1
        self.paused = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self):
        if self.proc is None:
            return
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def tail(self, lines=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class Cluster:
    def __init__(self, args, net, workdir, cleanup):
        self.net = net
        self.workdir = workdir
        self.etcdctl = args.etcdctl
        self.members = [Member(i, args, net, workdir) for i in range(MEMBERS)]
        self.initial_cluster = ",".join(f"{m.name}=http://{m.ip}:2380" for m in self.members)
        self.disk_dir = os.path.dirname(self.members[DISK_MEMBER].data_dir)
        self.ballast = os.path.join(self.disk_dir, "ballast")
        for m in self.members:
            os.makedirs(os.path.dirname(m.data_dir), exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", self.disk_dir])
        cleanup.push(f"umount {self.disk_dir}", lambda: run(["umount", "-l", self.disk_dir]))
        cleanup.push("members", self.stop_all)

    def endpoints(self, members=None):
        members = self.members if members is None else members
        return ",".join(f"{m.ip}:2379" for m in members)

    def start_all(self):
        for m in self.members:
            m.start(self.initial_cluster)

    def stop_all(self):
        for m in self.members:
            m.stop()

    def ctl(self, *args, members=None, timeout=3):
        argv = ["ip", "netns", "exec", self.net.client, self.etcdctl,
                f"--endpoints={self.endpoints(members)}", f"--dial-timeout={timeout}s",
                f"--command-timeout={timeout}s", *args]
        try:
            return run(argv, check=False, timeout=timeout * 3 + 5)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", "timeout")

    def statuses(self):
        """{member index: (revision, leader id, member id)} for members that answer."""
        out = {}
        for m in self.members:
            got = self.ctl("endpoint", "status", "-w", "json", members=[m], timeout=1)
            if got.returncode != 0:
                continue
            try:
                s = json.loads(got.stdout)[0]["Status"]
                out[m.index] = (int(s["header"]["revision"]), int(s["leader"]),
                                int(s["header"]["member_id"]))
            except (ValueError, KeyError, IndexError):
                continue
        return out

    def leader(self):
        s = self.statuses()
        for index, (_, leader, member_id) in s.items():
            if leader != 0 and leader == member_id:
                return index
        return None

    def wait_healthy(self, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.ctl("endpoint", "health", timeout=2).returncode == 0:
                return True
            time.sleep(0.3)
        return False

    def hashkv(self, limit):
        """Waits for every member at one revision with one HashKV there.

        Returns (ok, text)."""
        deadline = time.monotonic() + limit
        last = "no answer"
        while time.monotonic() < deadline:
            s = self.statuses()
            revs = {rev for rev, _, _ in s.values()}
            if len(s) == MEMBERS and len(revs) == 1:
                rev = revs.pop()
                got = self.ctl("endpoint", "hashkv", f"--rev={rev}", "-w", "json", timeout=3)
                if got.returncode == 0:
                    hashes = {}
                    for entry in json.loads(got.stdout):
                        hashes[entry["Endpoint"]] = entry["HashKV"]["hash"]
                    last = f"revision {rev}: " + ", ".join(
                        f"{ep}={h}" for ep, h in sorted(hashes.items()))
                    if len(hashes) == MEMBERS and len(set(hashes.values())) == 1:
                        return True, last
                else:
                    last = got.stderr.strip()
            else:
                last = "revisions " + ", ".join(f"m{i}={v[0]}" for i, v in sorted(s.items()))
            time.sleep(0.5)
        return False, last


def draw_faults(rng, count, start, end):
    """The schedule: `count` faults in [start, end) seconds, one per slot."""
    kinds = list(FAULT_KINDS)
    rng.shuffle(kinds)
    weighted = [k for k in FAULT_KINDS for _ in range(FAULT_WEIGHTS[k])]
    slot = (end - start) / count
    faults = []
    for i in range(count):
        kind = kinds[i] if i < len(kinds) else rng.choice(weighted)
        at = start + i * slot + rng.uniform(0, 0.15 * slot)
        lasts = rng.uniform(0.45, 0.8) * slot
        # A target member, or the leader of the moment (resolved when the
        # fault starts; the seeded member if none is known).
        target = rng.randrange(MEMBERS)
        other = rng.choice([j for j in range(MEMBERS) if j != target])
        at_leader = kind in ("partition", "pause", "kill", "delay", "one-way") and \
            rng.random() < 0.4
        fault = draw_params(rng, {"kind": kind, "at": at, "lasts": lasts, "target": target,
                                  "other": other, "at_leader": at_leader})
        # Now and then a network fault on another member at the same time
        # (a kill while another member's link is lossy, say): faults overlap
        # in the world too.
        if rng.random() < COMPANION_CHANCE:
            fault["companion"] = draw_params(rng, {
                "kind": rng.choice(COMPANION_KINDS), "target": rng.randrange(MEMBERS),
                "other": rng.randrange(MEMBERS), "at_leader": False})
        faults.append(fault)
    return faults


def draw_params(rng, fault):
    fault.update({"delay_ms": rng.choice([50, 100, 200, 400]),
                  "jitter_ms": rng.choice([10, 30, 60]),
                  "loss": rng.choice([10, 25, 40, 60])})
    return fault


class Nemesis:
    def __init__(self, cluster, net):
        self.cluster = cluster
        self.net = net
        self.log = []  # one line per fault
        self.counts = {}
        self.unexpected_exits = []
        self.killed = set()      # members killed on purpose, not yet restarted
        self.disk_full = False

    def start(self, f, t):
        target = f["target"]
        who = ""
        if f["at_leader"]:
            leader = self.cluster.leader()
            if leader is not None:
                target = leader
                who = " (the leader)"
        f["resolved"] = self.inject(f, target, who)
        self.note(f, f"  {t:6.1f}s +{f['lasts']:.1f}s  {f['kind']:<14} {f['what']}")
        companion = f.get("companion")
        if companion is not None:
            busy = f["resolved"]
            ctarget = companion["target"] if companion["target"] != busy else (busy + 1) % MEMBERS
            companion["resolved"] = self.inject(companion, ctarget, "")
            self.note(companion, f"         and  {companion['kind']:<14} {companion['what']}")

    def note(self, f, line):
        self.counts[f["kind"]] = self.counts.get(f["kind"], 0) + 1
        self.log.append(line)
        log("fault" + line)

    def inject(self, f, target, who):
        """Starts fault `f` on member `target`; returns the member it hit."""
        c = self.cluster
        other = f["other"] if f["other"] != target else (target + 1) % MEMBERS
        kind = f["kind"]
        ips = [member_ip(j) for j in range(MEMBERS) if j != target]
        if kind == "partition":
            self.net.drop(target, "input", "saddr", ips)
            self.net.drop(target, "output", "daddr", ips)
            what = f"isolate m{target}{who} from its peers"
        elif kind == "partition-pair":
            self.net.drop(target, "input", "saddr", [member_ip(other)])
            self.net.drop(target, "output", "daddr", [member_ip(other)])
            what = f"cut m{target} <-> m{other} (both still reach the third)"
        elif kind == "one-way":
            self.net.drop(target, "output", "daddr", [member_ip(other)])
            what = f"drop m{target}{who} -> m{other} (one way)"
        elif kind == "client-cut":
            self.net.drop(target, "input", "saddr", [CLIENT_IP])
            self.net.drop(target, "output", "daddr", [CLIENT_IP])
            what = f"cut the clients off m{target}"
        elif kind == "delay":
            how = self.net.delay(target, f["delay_ms"], f["jitter_ms"])
            what = f"delay m{target}{who}: {how}"
        elif kind == "loss":
            self.net.loss(target, f["loss"])
            what = f"drop {f['loss']}% of packets into m{target}"
        elif kind == "pause":
            c.members[target].signal(signal.SIGSTOP)
            c.members[target].paused = True
            what = f"SIGSTOP m{target}{who}"
        elif kind == "kill":
            c.members[target].signal(signal.SIGKILL)
            c.members[target].proc.wait(timeout=10)
            self.killed.add(target)
            what = f"SIGKILL m{target}{who}, restart after"
        elif kind == "disk-full":
            target = DISK_MEMBER
            free = fill(c.ballast)
            self.disk_full = True
            what = f"fill m{target}'s data disk ({free // (1 << 20)} MiB ballast, tmpfs full)"
        else:
            raise AssertionError(kind)
        f["what"] = what
        return target

    def end(self, f):
        if f.get("companion") is not None:
            self.end(f["companion"])
        c = self.cluster
        target = f["resolved"]
        kind = f["kind"]
        if kind in ("partition", "partition-pair", "one-way", "client-cut", "delay", "loss"):
            self.net.heal(target)
        elif kind == "pause":
            c.members[target].signal(signal.SIGCONT)
            c.members[target].paused = False
        elif kind == "kill":
            self.killed.discard(target)
            c.members[target].start(c.initial_cluster)
        elif kind == "disk-full":
            os.unlink(c.ballast)
            self.disk_full = False
            m = c.members[DISK_MEMBER]
            if not m.alive():
                note = f"m{DISK_MEMBER} exited on the full disk (exit {m.proc.returncode}); restarted"
                self.log.append("          " + note)
                log("fault          " + note)
                m.start(c.initial_cluster)

    def watch_members(self):
        """Restarts a member that died other than by a kill fault (recorded)."""
        for m in self.cluster.members:
            if m.index in self.killed or m.alive():
                continue
            if self.disk_full and m.index == DISK_MEMBER:
                continue  # restarted when the disk has room again
            note = f"m{m.index} exited unexpectedly (exit {m.proc.returncode})"
            self.unexpected_exits.append(note)
            log("chaos: " + note + "\n" + m.tail())
            m.start(self.cluster.initial_cluster)

    def heal_all(self):
        for i in range(MEMBERS):
            self.net.heal(i)
        for m in self.cluster.members:
            if m.alive():
                m.signal(signal.SIGCONT)
        if os.path.exists(self.cluster.ballast):
            os.unlink(self.cluster.ballast)
        self.disk_full = False
        for i in sorted(self.killed):
            self.cluster.members[i].start(self.cluster.initial_cluster)
        self.killed.clear()


def fill(path):
    """Fills the file system holding `path` to the last block; returns the bytes."""
    st = os.statvfs(os.path.dirname(path))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.posix_fallocate(fd, 0, max(0, st.f_bavail * st.f_frsize - (1 << 20)))
        os.lseek(fd, 0, os.SEEK_END)
        for chunk in (1 << 16, 1 << 12):
            while True:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError:
                    break
    finally:
        os.close(fd)
    return os.path.getsize(path)


def sleep_until(deadline, nemesis):
    while True:
        now = time.monotonic()
        if now >= deadline:
            return
        nemesis.watch_members()
        time.sleep(min(0.1, deadline - now))


def one_run(args, seed, workdir, cleanup):
    net = Net(cleanup)
    net.setup()
    cluster = Cluster(args, net, workdir, cleanup)
    cluster.start_all()
    if not cluster.wait_healthy(30):
        raise RuntimeError("the cluster did not become healthy in 30s:\n" +
                           "\n".join(m.tail() for m in cluster.members))
    rng = random.Random(seed)
    faults = draw_faults(rng, args.faults, 2.0, args.duration - 5.0)
    nemesis = Nemesis(cluster, net)

    history = os.path.join(workdir, "history.jsonl")
    client_out = open(os.path.join(workdir, "client.out"), "w")
    client_argv = ["ip", "netns", "exec", net.client, "setpriv", "--pdeathsig", "KILL", "--",
                   args.client, "--endpoints", cluster.endpoints(), "--seed", str(seed),
                   "--duration-ms", str(int(args.duration * 1000)), "--out", history]
    if args.inject_bug:
        client_argv += ["--inject-bug", args.inject_bug]
    client = subprocess.Popen(client_argv, stdin=subprocess.DEVNULL, stdout=client_out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    cleanup.push("client", lambda: (client.poll() is None and client.kill(), client.wait()))
    t0 = time.monotonic()
    for f in faults:
        sleep_until(t0 + f["at"], nemesis)
        nemesis.start(f, time.monotonic() - t0)
        sleep_until(t0 + f["at"] + f["lasts"], nemesis)
        nemesis.end(f)
    nemesis.heal_all()
    log(f"chaos: {sum(nemesis.counts.values())} faults done at {time.monotonic() - t0:.1f}s; "
        "healed, waiting for the clients' final read")
    client_deadline = t0 + args.duration + 150
    while client.poll() is None and time.monotonic() < client_deadline:
        nemesis.watch_members()
        time.sleep(0.2)
    if client.poll() is None:
        client.kill()
        client.wait()
        raise RuntimeError("keel-chaos-client did not finish")
    client_out.close()
    with open(os.path.join(workdir, "client.out")) as f:
        client_text = f.read()
    stats = {}
    for line in reversed(client_text.splitlines()):
        if line.startswith("{"):
            stats = json.loads(line)
            break
    problems = []
    if client.returncode != 0:
        problems.append(f"keel-chaos-client exited {client.returncode}: {client_text[-2000:]}")
    problems += nemesis.unexpected_exits

    check = None
    if os.path.exists(history):
        check = run([args.keel_check, history], check=False, timeout=600)
        if check.returncode != 0:
            problems.append(f"keel-check exited {check.returncode}")
    else:
        problems.append("no history was written")
    converged, hashes = cluster.hashkv(30)
    if not converged:
        problems.append(f"members did not converge on one HashKV: {hashes}")

    summary = [f"chaos: seed {seed}, {args.duration:.0f}s of workload, "
               f"{sum(nemesis.counts.values())} faults:"]
    summary += [line for line in nemesis.log]
    summary.append(f"  {len(faults)} slots, {sum(1 for f in faults if 'companion' in f)} with a "
                   "second fault on another member alongside")
    summary.append("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(nemesis.counts.items())))
    if not net.netem:
        summary.append("  (delay faults used tbf: this kernel has no sch_netem)")
    summary.append(f"  operations: {stats.get('ops', '?')} recorded "
                   f"({stats.get('ok', '?')} ok, {stats.get('failed', '?')} failed, "
                   f"{stats.get('unknown', '?')} unknown); {stats.get('watches', '?')} watches, "
                   f"{stats.get('watch_events', '?')} events, "
                   f"{stats.get('watch_progress', '?')} progress notifications; "
                   f"{stats.get('leases_granted', '?')} leases granted, "
                   f"{stats.get('leases_seen_ended', '?')} seen ended")
    restarts = sum(m.starts - 1 for m in cluster.members)
    summary.append(f"  member restarts: {restarts}")
    if check is not None:
        summary.append("  keel-check (linearizability, watches, leases, durability): " + check.stdout.strip().replace("\n", "\n    "))
    summary.append(f"  HashKV: {'same on every member' if converged else 'DIFFERENT'}, {hashes}")
    return summary, problems, cluster


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keel", required=True)
    parser.add_argument("--keel-check", required=True)
    parser.add_argument("--client", required=True, help="keel-chaos-client")
    parser.add_argument("--etcdctl", default="etcdctl")
    parser.add_argument("--seed", type=int,
                        default=int(os.environ["CHAOS_SEED"]) if os.environ.get("CHAOS_SEED")
                        else None,
                        help="seed of the fault schedule and the clients (env CHAOS_SEED; "
                             "default: random, printed)")
    parser.add_argument("--duration", type=float,
                        default=float(os.environ.get("CHAOS_DURATION", "60")),
                        help="seconds of workload under faults (env CHAOS_DURATION)")
    parser.add_argument("--faults", type=int, default=int(os.environ.get("CHAOS_FAULTS", "22")),
                        help="faults per run (env CHAOS_FAULTS)")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("CHAOS_RUNS", "1")),
                        help="runs in a row, seeds seed, seed+1, ... (env CHAOS_RUNS)")
    parser.add_argument("--inject-bug", default="",
                        help="stale-read or watch-skip: the client misbehaves; the run must FAIL")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    args = parser.parse_args()
    if os.geteuid() != 0:
        log("chaos: SKIP needs root (network namespaces, nft, tc, mount)")
        return 0
    for tool in ("ip", "nft", "tc", "setpriv", args.etcdctl):
        if shutil.which(tool) is None:
            log(f"chaos: FAIL {tool} is missing (ci/install-deps installs it)")
            return 2
    if args.duration < 20:
        log("chaos: FAIL --duration must be at least 20 seconds")
        return 2
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    # A signal becomes an exception, so the finally below undoes everything.
    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    sweep_stale()
    failed_runs = 0
    for n in range(args.runs):
        run_seed = seed + n
        log(f"chaos: run {n + 1}/{args.runs} seed {run_seed} (repeat with --seed {run_seed})")
        workdir = tempfile.mkdtemp(prefix=f"keel-chaos-{os.getpid()}-")
        cleanup = Cleanup()
        keep = args.keep
        try:
            summary, problems, cluster = one_run(args, run_seed, workdir, cleanup)
            log("\n".join(summary))
            if problems:
                failed_runs += 1
                keep = True
                for m in cluster.members:
                    log(f"--- m{m.index} log (last lines) ---\n{m.tail(15)}")
                log(f"chaos: FAIL seed {run_seed}: " + "; ".join(p.splitlines()[0]
                                                              for p in problems))
            else:
                log(f"chaos: PASS seed {run_seed}")
        except KeyboardInterrupt as e:
            log(f"chaos: interrupted ({e}); cleaning up")
            cleanup.run_all()
            shutil.rmtree(workdir, ignore_errors=True)
            return 130
        except Exception as e:
            failed_runs += 1
            keep = True
            log(f"chaos: FAIL seed {run_seed}: {type(e).__name__}: {e}")
        finally:
            cleanup.run_all()
            if keep:
                log(f"chaos: kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    if failed_runs:
        log(f"chaos: {failed_runs} of {args.runs} runs FAILED")
        return 1
    log(f"chaos: all {args.runs} runs passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
