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

world.py holds the namespaces, the members and the cluster; this file the
fault schedule, the nemesis and the run.

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
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from world import (CLIENT_IP, DISK_MEMBER, MEMBERS, Cleanup, Cluster, Net, fill, log,
                   member_ip, run, sweep_stale)

FAULT_KINDS = ["partition", "partition-pair", "one-way", "client-cut", "delay", "loss",
               "pause", "kill", "disk-full"]
# Network faults that may run alongside another fault, on another member.
COMPANION_KINDS = ["one-way", "loss", "delay", "client-cut"]
COMPANION_CHANCE = 0.3
# Relative weights once every kind has been drawn once.
FAULT_WEIGHTS = {"partition": 3, "partition-pair": 1, "one-way": 2, "client-cut": 1,
                 "delay": 2, "loss": 2, "pause": 3, "kill": 3, "disk-full": 1}


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
