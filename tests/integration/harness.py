"""Starts three-member clusters of keel or real etcd on loopback, runs etcdctl.

The integration tests compare what etcdctl prints against keel with what it
prints against etcd 3.4, so this module knows how to start either server with
the same flags, on free loopback ports chosen from a random range that never
overlaps `make cluster` (2379/2380, 22379/22380, 32379/32380), with data
directories under one temporary directory.

Every process started here is recorded and stopped: by Cluster.stop(), by an
atexit hook, on SIGINT/SIGTERM, and, should this Python process be killed
outright (a CTest timeout sends SIGKILL), long-running ones (servers,
background etcdctl) by the kernel through PR_SET_PDEATHSIG. That is set by
`setpriv --pdeathsig KILL`, which execs the real program: no Python code runs
between fork and exec (subprocess's preexec_fn is unsafe while other threads
run, and test_failover's writer thread runs etcdctl). Short-lived etcdctl
calls end by their own timeout and need no death signal. Each child runs in
its own session and process group, so killing it kills whatever it started.
"""

import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

# Ports `make cluster` and a default etcd use; the suite never binds these.
RESERVED_PORTS = {2379, 2380, 22379, 22380, 32379, 32380}
# Below Linux's ephemeral range (32768-60999 by default), so outgoing
# connections never take a port between the check and the bind.
PORT_RANGE = (10000, 32000)

_LIVE = set()  # every subprocess.Popen still running, across clusters
_LIVE_LOCK = threading.Lock()


def spawn(args, stdout, stderr, stdin=subprocess.DEVNULL, env=None, cwd=None,
          die_with_parent=False):
    """Starts args in its own session and process group.

    With die_with_parent the kernel SIGKILLs it when this process dies. The
    signal follows the thread that forked the child, so such children are
    started from the main thread only.
    """
    if die_with_parent:
        assert threading.current_thread() is threading.main_thread(), \
            "PR_SET_PDEATHSIG fires when the forking thread exits"
        args = [require_tool("setpriv"), "--pdeathsig", "KILL", "--", *args]
    proc = subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=stderr,
                            env=env, cwd=cwd, start_new_session=True)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    return proc


def kill_process(proc, sig=signal.SIGKILL, wait=True):
    """Sends sig to proc's process group; reaps it when wait is true."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    if wait:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with _LIVE_LOCK:
            _LIVE.discard(proc)


def kill_everything():
    """Kills every process this module started and has not reaped yet."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        kill_process(proc, signal.SIGKILL)


def _on_signal(signum, frame):
    kill_everything()
    # Leave through the normal path so finally blocks and atexit still run.
    raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)


atexit.register(kill_everything)
if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def require_tool(name):
    """Path of an executable on PATH; raises (a test failure, not a skip)."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(
            f"{name} not found on PATH: the integration tests compare keel "
            f"with real etcd 3.4 and need Debian's etcd-server and etcd-client "
            f"(ci/install-deps installs them)")
    return path


def keel_binary():
    """The keel server binary: $KEEL_BINARY (CTest passes the built target)."""
    path = os.environ.get("KEEL_BINARY", "")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError(
            f"KEEL_BINARY={path!r} is not an executable keel server binary; "
            f"run through ctest, or set KEEL_BINARY=build/tools/keel")
    return path


def _port_free(port):
    for family, addr in ((socket.AF_INET, "127.0.0.1"),):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


_TAKEN = set()  # ports this process already handed out


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
            return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(count):
    """count loopback ports, free now, from a random block in PORT_RANGE."""
    rng = random.Random()
    eph_lo, eph_hi = _ephemeral_range()
    for _ in range(200):
        base = rng.randrange(PORT_RANGE[0], PORT_RANGE[1] - count)
        ports = list(range(base, base + count))
        if any(p in RESERVED_PORTS or p in _TAKEN or eph_lo <= p <= eph_hi
               for p in ports):
            continue
        if all(_port_free(p) for p in ports):
            _TAKEN.update(ports)
            return ports
    raise AssertionError("no free block of loopback ports found")


def http_get(url, timeout=2.0):
    """(status, body text) of a GET; status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, ""


class Result:
    """What one etcdctl run printed and returned."""

    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    def __repr__(self):
        return f"Result(rc={self.rc}, out={self.out!r}, err={self.err!r})"


class Member:
    def __init__(self, index, name, client_port, peer_port, data_dir, log_path):
        self.index = index
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None

    @property
    def client_url(self):
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self):
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.client_port}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Cluster:
    """Three members of keel ('keel') or etcd ('etcd') on loopback.

    flavor picks the binary; extra_flags go to every member. start() returns
    once every member answers /health with health true (or raises with the
    tail of the members' logs).
    """

    SIZE = 3

    def __init__(self, flavor, workdir, extra_flags=(), token=None):
        assert flavor in ("keel", "etcd")
        self.flavor = flavor
        self.binary = keel_binary() if flavor == "keel" else require_tool("etcd")
        self.etcdctl = require_tool("etcdctl")
        self.dir = tempfile.mkdtemp(prefix=f"{flavor}-", dir=workdir)
        self.extra_flags = list(extra_flags)
        self.token = token or f"integ-{flavor}"
        ports = free_ports(2 * self.SIZE)
        self.members = []
        for i in range(self.SIZE):
            name = f"infra{i + 1}"
            self.members.append(Member(
                i, name, ports[2 * i], ports[2 * i + 1],
                os.path.join(self.dir, f"{name}.data"),
                os.path.join(self.dir, f"{name}.log")))

    # --- processes -------------------------------------------------------

    def initial_cluster(self):
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def member_args(self, m):
        args = [self.binary,
                "--name", m.name,
                "--data-dir", m.data_dir,
                "--listen-client-urls", m.client_url,
                "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url,
                "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self.initial_cluster(),
                "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token]
        if self.flavor == "etcd":
            args += ["--logger", "zap", "--log-outputs", "stderr"]
        return args + self.extra_flags

    def start_member(self, m):
        assert not m.running(), m.name
        log = open(m.log_path, "ab")
        try:
            m.proc = spawn(self.member_args(m), stdout=log, stderr=log,
                           die_with_parent=True)
        finally:
            log.close()

    def start(self, wait=True, timeout=30.0):
        for m in self.members:
            self.start_member(m)
        if wait:
            self.wait_healthy(self.members, timeout)
        return self

    def kill_member(self, m, sig=signal.SIGKILL):
        kill_process(m.proc, sig)

    def stop(self):
        for m in self.members:
            if m.proc is not None:
                kill_process(m.proc, signal.SIGTERM if m.running() else signal.SIGKILL)

    def wait_healthy(self, members, timeout=30.0):
        """Returns once each member's /health says true; raises on timeout."""
        deadline = time.monotonic() + timeout
        pending = list(members)
        while pending:
            for m in list(pending):
                if not m.running():
                    raise AssertionError(
                        f"{self.flavor} member {m.name} exited with "
                        f"{m.proc.returncode}\n{self.log_tail(m)}")
                status, body = http_get(m.client_url + "/health", timeout=1.0)
                if status == 200 and '"health":"true"' in body:
                    pending.remove(m)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.flavor} members {[m.name for m in pending]} not healthy "
                    f"after {timeout}s\n" + "\n".join(self.log_tail(m) for m in pending))
            time.sleep(0.05)  # polling real processes: no event to wait on

    def log_tail(self, m, lines=30):
        try:
            with open(m.log_path, "rb") as f:
                text = f.read().decode(errors="replace").splitlines()
        except OSError:
            return f"({m.name}: no log)"
        return f"--- {self.flavor} {m.name} log (last {lines} lines) ---\n" + \
            "\n".join(text[-lines:])

    def logs(self):
        return "\n".join(self.log_tail(m) for m in self.members)

    def check_alive(self):
        """Raises if a member that should be running has exited."""
        for m in self.members:
            if m.proc is not None and m.proc.poll() is not None and m.proc in _LIVE:
                raise AssertionError(
                    f"{self.flavor} member {m.name} exited with {m.proc.returncode}\n"
                    f"{self.log_tail(m)}")

    # --- clients ---------------------------------------------------------

    def endpoints(self, members=None):
        return ",".join(m.endpoint for m in (members or self.members))

    def ctl(self, *args, stdin=None, members=None, timeout=20.0, flags=()):
        """Runs `etcdctl --endpoints=... args` and returns its Result."""
        argv = [self.etcdctl, f"--endpoints={self.endpoints(members)}", *flags, *args]
        env = dict(os.environ, ETCDCTL_API="3")
        proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                     env=env)
        try:
            out, err = proc.communicate(
                input=stdin.encode() if isinstance(stdin, str) else stdin,
                timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_process(proc)
            raise AssertionError(f"{self.flavor}: etcdctl {' '.join(args)} "
                                 f"did not finish in {timeout}s")
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
        # surrogateescape keeps binary output (-w protobuf) recoverable.
        return Result(list(args), proc.returncode, out.decode(errors="surrogateescape"),
                      err.decode(errors="replace"))

    def ctl_background(self, *args, members=None, out_path, stdin_pipe=False):
        """Starts a long-running etcdctl (e.g. watch) writing to out_path.

        With stdin_pipe the process reads proc.stdin (watch -i); otherwise
        its stdin is /dev/null.
        """
        argv = [self.etcdctl, f"--endpoints={self.endpoints(members)}", *args]
        env = dict(os.environ, ETCDCTL_API="3")
        with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
            return spawn(argv, stdout=out, stderr=err, env=env,
                         stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                         die_with_parent=True)

    def status(self, members=None, timeout="1s"):
        """endpoint status -w json as a list of dicts (None on failure)."""
        r = self.ctl("endpoint", "status", "-w", "json", members=members,
                     flags=(f"--command-timeout={timeout}", f"--dial-timeout={timeout}"))
        if r.rc != 0:
            return None
        return json.loads(r.out)

    def leader_id(self, members=None):
        st = self.status(members)
        if not st:
            return 0
        leaders = {s["Status"].get("leader", 0) for s in st}
        return leaders.pop() if len(leaders) == 1 else 0

    def member_ids(self):
        """{name: member id} from member list -w json."""
        r = self.ctl("member", "list", "-w", "json")
        assert r.rc == 0, r
        return {m["name"]: m["ID"] for m in json.loads(r.out)["members"]}

    def cluster_id(self):
        r = self.ctl("member", "list", "-w", "json")
        assert r.rc == 0, r
        return json.loads(r.out)["header"]["cluster_id"]
