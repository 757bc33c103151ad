#!/usr/bin/env python3
"""The chaos test's world: namespaces, members, the cluster seen by etcdctl.

Net makes a switch namespace holding a bridge, a client namespace and one
namespace per member, joined by veth pairs on 10.77.0.0/24 (private to the
run's namespaces, so runs and the host's networks never meet), and puts the
network faults in place: nft rules in a member's namespace (drops, loss) and
a tc qdisc on its link (delay). Member is one keel process in its namespace;
Cluster is the three of them, the third's data dir on a small tmpfs, and
what the test asks them through etcdctl (status, leader, health, HashKV).
Everything made is registered with a Cleanup to be undone; sweep_stale()
removes what a SIGKILLed run left.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

SUBNET = "10.77.0."
CLIENT_IP = SUBNET + "2"
MEMBERS = 3
# The member whose data dir is a tmpfs of this size (the full-disk fault's
# target): room for keel's preallocated 64 MiB WAL segments and LevelDB.
DISK_MEMBER = 2
DISK_MB = 192
NS_PREFIX = "kchaos"

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
    stale_dirs = []
    with open("/proc/mounts") as f:
        for line in f:
            mnt = line.split()[1]
            m = re.search(r"/keel-chaos-(\d+)-[^/]*/", mnt + "/")
            if m and not pid_alive(int(m.group(1))):
                # Still mounted: the run was killed before its cleanup (a
                # run that ended keeps its directory unmounted, if it keeps
                # it), so its directory goes too.
                run(["umount", "-l", mnt], check=False)
                stale_dirs.append(os.path.dirname(mnt))
    for d in stale_dirs:
        shutil.rmtree(d, ignore_errors=True)


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
