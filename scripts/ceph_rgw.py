#!/usr/bin/env python3
"""Install, start and stop a throw-away single-node Ceph RADOS Gateway.

Meant for tests and benchmarks of s3ferry against a real S3 implementation.
Everything binds to 127.0.0.1; every file of a cluster lives under one
directory, so several clusters (in several directories) can run at once.

CLI::

    python3 scripts/ceph_rgw.py install
    python3 scripts/ceph_rgw.py start --dir DIR [--port PORT] [--watch-pid PID]
    python3 scripts/ceph_rgw.py stop --dir DIR
    python3 scripts/ceph_rgw.py status --dir DIR

Python API::

    import ceph_rgw
    info = ceph_rgw.start("/tmp/rgw1")   # {"endpoint_url": ..., ...}
    ...
    ceph_rgw.stop("/tmp/rgw1")

Layout of DIR::

    ceph.conf          cluster configuration (pass -c DIR/ceph.conf to tools)
    pids               "NAME PID" lines of every process started here
    info.json          the dict returned by start()
    mon/ osd/ rgw/     daemon data
    block/ceph-0.img   sparse file used as the BlueStore block device
    run/               admin sockets (/tmp/ceph-rgw-run-HASH if DIR is too deep)
    logs/              daemon logs (NAME.log) and their stdout/stderr (NAME.out)

Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Dict, List, Optional, Sequence, Tuple

PACKAGES = ("radosgw", "ceph-mon", "ceph-osd", "ceph-common")
BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool")

ACCESS_KEY = "s3ferrytestaccesskey0"
SECRET_KEY = "s3ferrytestsecretkey00000000000000000000"
USER_ID = "s3ferry"
REGION = "us-east-1"

MON_ID = "a"
OSD_ID = 0
RGW_NAME = "client.rgw.a"

GiB = 1024 ** 3
# Size of the sparse BlueStore block file: at most MAX, at least MIN, and no
# more than FREE_FRACTION of the free space of the file system holding DIR.
BLOCK_MAX = 40 * GiB
BLOCK_MIN = 4 * GiB
BLOCK_FREE_FRACTION = 0.8

DEFAULT_TIMEOUT = 90.0  # seconds for the whole start()

EXIT_APT_UNREACHABLE = 3

# Written first into every DIR this module manages; stop() only wipes a DIR
# that carries it, start() refuses a non-empty DIR without it.
MARKER = ".ceph_rgw"


class CephRgwError(RuntimeError):
    """Raised when the cluster cannot be installed, started or reached."""


# --------------------------------------------------------------------------
# install
# --------------------------------------------------------------------------

def _pkg_installed(pkg: str) -> bool:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            check=False,
        ).stdout
    except FileNotFoundError:
        return False
    return out.strip().endswith("install ok installed")


def is_installed() -> bool:
    """True if every needed Debian package is installed and on PATH."""
    if not all(shutil.which(b) for b in BINARIES):
        return False
    return all(_pkg_installed(p) for p in PACKAGES)


class AptUnreachable(CephRgwError):
    pass


_NET_ERRORS = ("Failed to fetch", "Temporary failure", "Could not resolve",
               "Could not connect", "Connection failed", "Network is unreachable",
               "Unable to connect", "Cannot initiate the connection",
               "Unable to fetch some archives", "Unable to locate package",
               "has no installation candidate")


def install(quiet: bool = False) -> bool:
    """Install the Ceph packages with apt-get if missing.

    Runs `apt-get update` once, then
    `apt-get install -y --no-install-recommends PACKAGES`.
    Returns True if something was installed, False if all was already there.
    Raises AptUnreachable if apt cannot reach its repositories, CephRgwError
    on any other failure. Output of apt goes to stderr unless `quiet`.
    """
    if is_installed():
        return False
    if os.geteuid() != 0:
        raise CephRgwError("installing %s needs root (apt-get)"
                           % " ".join(PACKAGES))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

    def apt(args: List[str]) -> Tuple[int, str]:
        try:
            res = subprocess.run(["apt-get", *args], env=env,
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True,
                                 check=False)
        except FileNotFoundError:
            raise CephRgwError("apt-get not found: not a Debian-like system")
        if not quiet:
            sys.stderr.write(res.stdout)
        return res.returncode, res.stdout

    rc, text = apt(["update", "-q"])
    # apt-get update exits 0 even when sources fail; look for the errors.
    upd_bad = [ln for ln in text.splitlines()
               if ln.startswith(("Err:", "W: Failed to fetch",
                                 "W: Some index files failed", "E: "))]
    rc, text = apt(["install", "-y", "-q", "--no-install-recommends",
                    *PACKAGES])
    if rc != 0:
        if upd_bad or any(e in text for e in _NET_ERRORS):
            first = next((ln for ln in (upd_bad + text.splitlines())
                          if ln.startswith(("E:", "Err:", "W:"))), "")
            raise AptUnreachable(
                "apt cannot reach its package repositories to install %s (%s)"
                % (" ".join(PACKAGES), first.strip()))
        raise CephRgwError("apt-get install failed (exit %d)" % rc)
    if not is_installed():
        raise CephRgwError("packages installed but binaries missing: %s"
                           % [b for b in BINARIES if not shutil.which(b)])
    return True


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _free_port(exclude: Sequence[int] = ()) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in exclude:
            return port
    raise CephRgwError("could not find a free TCP port")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Unix socket paths are capped at 107 bytes; the longest one we create is
# RUN/ceph-client.rgw.a.asok. If DIR is too deep for that, the run dir goes to
# a short per-DIR path under /tmp instead (removed again by stop()).
_ASOK_NAME = "ceph-%s.asok" % RGW_NAME
_SUN_PATH_MAX = 107


def _run_dir(d: str) -> str:
    run = os.path.join(d, "run")
    if len(os.path.join(run, _ASOK_NAME).encode()) <= _SUN_PATH_MAX:
        return run
    digest = hashlib.sha1(d.encode()).hexdigest()[:12]
    return "/tmp/ceph-rgw-run-%s" % digest


def _paths(d: str) -> Dict[str, str]:
    return {
        "conf": os.path.join(d, "ceph.conf"),
        "pids": os.path.join(d, "pids"),
        "info": os.path.join(d, "info.json"),
        "logs": os.path.join(d, "logs"),
        "run": _run_dir(d),
        "mon": os.path.join(d, "mon"),
        "osd": os.path.join(d, "osd"),
        "rgw": os.path.join(d, "rgw"),
        "block": os.path.join(d, "block"),
        "monmap": os.path.join(d, "monmap"),
        "keyring": os.path.join(d, "keyring"),
    }


def _block_size(d: str) -> int:
    st = os.statvfs(d)
    free = st.f_bavail * st.f_frsize
    size = min(BLOCK_MAX, int(free * BLOCK_FREE_FRACTION))
    size -= size % (1 << 20)
    if size < BLOCK_MIN:
        raise CephRgwError(
            "not enough free disk under %s: %.1f GiB free, need >= %.1f GiB"
            % (d, free / GiB, BLOCK_MIN / GiB / BLOCK_FREE_FRACTION))
    return size


def _daemon_port_range(avoid: Sequence[int]) -> Tuple[int, int]:
    """Port range for OSD messengers: just below the kernel's ephemeral range,
    so it never meets the ports picked by _free_port() (which come from the
    ephemeral range), and never contains one of `avoid`."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    hi = low - 1
    lo = max(1024, hi - 2000)
    for a in sorted(avoid, reverse=True):
        if lo <= a <= hi:
            if a - lo >= 100:
                hi = a - 1
            else:
                lo = a + 1
    return lo, hi


def _conf_text(d: str, fsid: str, mon_port: int, rgw_port: int) -> str:
    p = _paths(d)
    bind_min, bind_max = _daemon_port_range((mon_port, rgw_port))
    return f"""# generated by s3ferry scripts/ceph_rgw.py -- throw-away test cluster
[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{mon_port}]
mon initial members = {MON_ID}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr1 = false
ms bind msgr2 = true
ms bind port min = {bind_min}
ms bind port max = {bind_max}
objecter tick interval = 0.5

auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc

keyring = {p['keyring']}
run dir = {p['run']}
admin socket = {p['run']}/$cluster-$name.asok
pid file = {p['run']}/$name.pid
log file = {p['logs']}/$name.log
log to stderr = false
err to stderr = true
log flush on exit = true
mon cluster log file = {p['logs']}/cluster.log
crash dir = {d}/crash
exporter sock dir = {p['run']}

client mount timeout = 30
rados mon op timeout = 60
rados osd op timeout = 60

osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon osd full ratio = 0.97
mon osd backfillfull ratio = 0.96
mon osd nearfull ratio = 0.95

[mon]
mon data = {p['mon']}/$cluster-$id
paxos propose interval = 0.02
paxos min wait = 0.01
mon osd down out interval = 0
mon osd report timeout = 3600
mon lease = 5

[osd]
osd data = {p['osd']}/$cluster-$id
osd objectstore = bluestore
bluestore block path = {p['block']}/$cluster-$id.img
bluestore block create = false
bdev aio poll ms = 10
bluestore fsck on mkfs = false
bluestore fsck on mount = false
bluestore cache autotune = false
bluestore cache size = 268435456
osd memory target = 939524096
osd memory cache min = 134217728
osd crush update on start = true
osd op num shards = 2
osd op num threads per shard = 2
osd max object size = 134217728
osd scrub min interval = 31536000
osd scrub max interval = 31536000
osd deep scrub interval = 31536000
osd beacon report interval = 60

[{RGW_NAME}]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {p['rgw']}
rgw dns name =
rgw enable usage log = false
rgw enable ops log = false
rgw thread pool size = 128
rgw init timeout = 120
rgw gc obj min wait = 60
rgw gc processor period = 60
rgw lc debug interval = -1
rgw max concurrent requests = 4096
"""


def _append_pid(d: str, name: str, pid: int) -> None:
    with open(_paths(d)["pids"], "a") as f:
        f.write("%s %d\n" % (name, pid))
        f.flush()
        os.fsync(f.fileno())


def _read_pids(d: str) -> List[Tuple[str, int]]:
    res = []
    try:
        with open(_paths(d)["pids"]) as f:
            for ln in f:
                parts = ln.split()
                if len(parts) == 2 and parts[1].isdigit():
                    res.append((parts[0], int(parts[1])))
    except FileNotFoundError:
        pass
    return res


def _cmdline(pid: int) -> Optional[List[str]]:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    if not raw:
        return None  # zombie / kernel thread
    return [a.decode("utf-8", "replace") for a in raw.rstrip(b"\0").split(b"\0")]


def _belongs(pid: int, d: str) -> bool:
    """True if live process `pid` was started by us for directory `d`."""
    cmd = _cmdline(pid)
    if cmd is None:
        return False
    conf = _paths(d)["conf"]
    return conf in cmd or ("--dir" in cmd and d in cmd)


def _reap(pid: int, block: bool) -> bool:
    """Reap `pid` if it is our exited child. True if it was reaped."""
    try:
        wpid, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:  # not our child (or already reaped)
        return False
    return wpid == pid


def _alive(pid: int) -> bool:
    """True if `pid` runs (a zombie counts as gone; ours get reaped)."""
    if _reap(pid, block=False):
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):
        _reap(pid, block=True)  # instant for a zombie child of ours
        return False
    return True


def _scan_procs(d: str) -> List[int]:
    """PIDs of live processes whose command line names DIR/ceph.conf."""
    conf = _paths(d)["conf"]
    found = []
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        pid = int(ent)
        if pid == os.getpid():
            continue
        cmd = _cmdline(pid)
        if cmd and conf in cmd:
            found.append(pid)
    return found


# Popen objects of the daemons this process started, per DIR: kept so that
# they are not garbage-collected while running (ResourceWarning) and so that
# stop() can reap them.
_PROCS: Dict[str, List[subprocess.Popen]] = {}


def _spawn(d: str, name: str, argv: List[str]) -> subprocess.Popen:
    p = _paths(d)
    out = open(os.path.join(p["logs"], name + ".out"), "ab")
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd=d,
            env=_child_env(d))
    finally:
        out.close()
    _PROCS.setdefault(d, []).append(proc)
    _append_pid(d, name, proc.pid)
    return proc


def _child_env(d: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["CEPH_CONF"] = _paths(d)["conf"]
    env.pop("CEPH_ARGS", None)
    env.pop("CEPH_KEYRING", None)
    return env


def _run(d: str, argv: List[str], timeout: float = 60.0,
         what: str = "") -> str:
    try:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=timeout, cwd=d,
                             env=_child_env(d), check=False)
    except subprocess.TimeoutExpired:
        raise CephRgwError("%s timed out after %.0fs: %s"
                           % (what or argv[0], timeout, " ".join(argv)))
    if res.returncode != 0:
        raise CephRgwError("%s failed (exit %d): %s\n%s%s"
                           % (what or argv[0], res.returncode, " ".join(argv),
                              res.stdout[-2000:], res.stderr[-2000:]))
    return res.stdout


def _tail(path: str, n: int = 20) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return ""


def _check_alive(d: str, procs: Dict[str, subprocess.Popen]) -> None:
    for name, proc in procs.items():
        rc = proc.poll()
        if rc is not None:
            logs = _paths(d)["logs"]
            raise CephRgwError(
                "%s exited early with code %s; last log lines:\n%s\n%s"
                % (name, rc, _tail(os.path.join(logs, name + ".out")),
                   _tail(os.path.join(logs, name + ".log"))))


def _wait_tcp(port: int, deadline: float, d: str,
              procs: Dict[str, subprocess.Popen], what: str) -> None:
    while True:
        _check_alive(d, procs)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise CephRgwError("timed out waiting for %s on port %d"
                               % (what, port))
        time.sleep(0.05)


def _wait_s3(url: str, deadline: float, d: str,
             procs: Dict[str, subprocess.Popen]) -> None:
    last = None
    # no proxies: an http_proxy in the environment must not catch 127.0.0.1
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while True:
        _check_alive(d, procs)
        try:
            with opener.open(url + "/", timeout=2) as r:
                r.read()
                return
        except urllib.error.HTTPError as e:  # any HTTP answer means S3 is up
            last = e
            if e.code < 500:
                return
        except (OSError, urllib.error.URLError) as e:
            last = e
        if time.monotonic() > deadline:
            raise CephRgwError("timed out waiting for S3 at %s (%s)"
                               % (url, last))
        time.sleep(0.1)


# --------------------------------------------------------------------------
# start / stop
# --------------------------------------------------------------------------

def start(dir: str, port: Optional[int] = None, *,
          timeout: float = DEFAULT_TIMEOUT,
          watch_pid: Optional[int] = None) -> Dict[str, str]:
    """Create a fresh single-node cluster in `dir` and return S3 settings.

    Returns {"endpoint_url", "access_key", "secret_key", "region", "dir"}.
    Anything previously running from `dir` is stopped and `dir` is wiped.
    If `watch_pid` is given, a small watchdog process stops the cluster when
    that process exits (so a crashed test run does not leave daemons behind).
    Raises CephRgwError (after cleaning up) on failure.
    """
    t0 = time.monotonic()
    missing = [b for b in BINARIES if not shutil.which(b)]
    if missing:
        raise CephRgwError("Ceph is not installed (missing %s); run: python3 %s"
                           " install" % (", ".join(missing),
                                         os.path.abspath(__file__)))
    d = os.path.abspath(dir)
    deadline = t0 + timeout
    if (os.path.isdir(d) and os.listdir(d)
            and not os.path.exists(os.path.join(d, MARKER))):
        raise CephRgwError("refusing to use %s: not empty and not made by "
                           "ceph_rgw.py (no %s file)" % (d, MARKER))
    stop(d)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, MARKER), "w") as f:
        f.write("throw-away Ceph cluster; wiped by ceph_rgw.py stop\n")
    p = _paths(d)
    for k in ("logs", "run", "mon", "osd", "rgw", "block"):
        os.makedirs(p[k], exist_ok=True)
    os.makedirs(os.path.join(d, "crash"), exist_ok=True)
    osd_data = os.path.join(p["osd"], "ceph-%d" % OSD_ID)
    os.makedirs(osd_data, exist_ok=True)

    if port is None:
        rgw_port = _free_port()
    else:
        rgw_port = int(port)
        if not _port_free(rgw_port):
            raise CephRgwError("port %d on 127.0.0.1 is already in use"
                               % rgw_port)
    mon_port = _free_port(exclude=(rgw_port,))

    fsid = str(uuid.uuid4())
    osd_uuid = str(uuid.uuid4())
    with open(p["conf"], "w") as f:
        f.write(_conf_text(d, fsid, mon_port, rgw_port))
    with open(p["keyring"], "w"):
        pass
    block = os.path.join(p["block"], "ceph-%d.img" % OSD_ID)
    with open(block, "wb") as f:
        f.truncate(_block_size(d))

    conf = p["conf"]
    procs: Dict[str, subprocess.Popen] = {}
    ok = False
    try:
        if watch_pid:
            _spawn_watchdog(d, watch_pid)

        # OSD mkfs needs only the fsid from the conf: run it in the
        # background while the monitor is created and started.
        mkfs = _spawn(d, "osd-mkfs", [
            "ceph-osd", "-c", conf, "-i", str(OSD_ID), "--mkfs",
            "--osd-uuid", osd_uuid, "--no-mon-config"])

        _run(d, ["monmaptool", "--create", "--clobber", "--fsid", fsid,
                 "--addv", MON_ID, "[v2:127.0.0.1:%d]" % mon_port,
                 p["monmap"]], what="monmaptool")
        _run(d, ["ceph-mon", "-c", conf, "--mkfs", "-i", MON_ID,
                 "--monmap", p["monmap"]], what="ceph-mon --mkfs")
        mon_name = "mon." + MON_ID
        procs[mon_name] = _spawn(
            d, mon_name, ["ceph-mon", "-c", conf, "-i", MON_ID, "-f"])
        _log(t0, "mon spawned")
        _wait_tcp(mon_port, deadline, d, procs, "ceph-mon")
        _log(t0, "mon listening")
        _run(d, ["ceph", "-c", conf, "--connect-timeout", "30",
                 "osd", "new", osd_uuid, str(OSD_ID)],
             timeout=max(10.0, deadline - time.monotonic()),
             what="ceph osd new")
        _log(t0, "osd registered")
        try:
            rc = mkfs.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise CephRgwError("ceph-osd --mkfs timed out")
        if rc != 0:
            raise CephRgwError(
                "ceph-osd --mkfs failed (exit %d):\n%s" % (rc, _tail(
                    os.path.join(p["logs"], "osd-mkfs.out"))))
        _log(t0, "osd mkfs done")
        osd_name = "osd.%d" % OSD_ID
        procs[osd_name] = _spawn(
            d, osd_name, ["ceph-osd", "-c", conf, "-i", str(OSD_ID), "-f"])
        _log(t0, "osd spawned")
        # radosgw starts in parallel with the OSD boot; it retries its pool
        # operations until the OSD is up (objecter tick interval is short).
        procs["rgw"] = _spawn(
            d, "rgw", ["radosgw", "-c", conf, "-n", RGW_NAME, "-f"])
        _log(t0, "rgw spawned")
        url = "http://127.0.0.1:%d" % rgw_port
        _wait_s3(url, deadline, d, procs)
        _log(t0, "s3 answers")

        _run(d, ["radosgw-admin", "-c", conf, "user", "create",
                 "--uid", USER_ID, "--display-name", "s3ferry tests",
                 "--access-key", ACCESS_KEY, "--secret", SECRET_KEY,
                 "--max-buckets", "10000"],
             timeout=max(10.0, deadline - time.monotonic()),
             what="radosgw-admin user create")
        _log(t0, "user created")
        info = {
            "endpoint_url": url,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "region": REGION,
            "dir": d,
        }
        with open(p["info"], "w") as f:
            json.dump(dict(info, mon_port=mon_port,
                           start_seconds=round(time.monotonic() - t0, 2)), f)
        ok = True
        return info
    finally:
        if not ok:
            try:
                _kill_all(d)
            except CephRgwError:
                pass


def _log(t0: float, msg: str) -> None:
    if os.environ.get("CEPH_RGW_VERBOSE"):
        sys.stderr.write("ceph_rgw: %6.2fs %s\n" % (time.monotonic() - t0, msg))
        sys.stderr.flush()


def _spawn_watchdog(d: str, watch_pid: int) -> subprocess.Popen:
    argv = [sys.executable, os.path.abspath(__file__), "_watchdog",
            "--dir", d, "--pid", str(watch_pid)]
    return _spawn(d, "watchdog", argv)


def _watchdog(d: str, pid: int) -> None:
    while True:
        if not _alive(pid):
            break
        if not os.path.exists(_paths(d)["pids"]):
            return  # cluster already stopped
        time.sleep(1.0)
    stop(d)


def _kill_all(d: str) -> None:
    """SIGKILL every process started for `d` and wait until it is gone.

    The cluster is thrown away afterwards, so there is no point in a clean
    shutdown (which takes radosgw several seconds).
    """
    me = os.getpid()
    pids: List[int] = []
    for _name, pid in reversed(_read_pids(d)):
        if pid != me and pid not in pids and _belongs(pid, d):
            pids.append(pid)
    # also anything naming DIR/ceph.conf whose pid was not recorded (e.g. a
    # crash between spawn and recording)
    for pid in _scan_procs(d):
        if pid != me and pid not in pids:
            pids.append(pid)
    for pid in pids:
        try:  # daemons lead their own session / process group
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    end = time.monotonic() + 15
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.02)
    for proc in _PROCS.pop(d, []):
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
    left = [p for p in pids if _alive(p)]
    if left:
        raise CephRgwError("processes did not exit: %s" % left)


def stop(dir: str) -> None:
    """Kill every daemon started for `dir`, wait, and empty `dir`. Idempotent.

    The contents are only removed if `dir` was set up by start() (it holds
    the marker file); otherwise only the daemons are killed.
    """
    d = os.path.abspath(dir)
    _kill_all(d)  # works from /proc even if DIR was deleted under us
    run = _paths(d)["run"]
    if os.path.dirname(run) != d:
        shutil.rmtree(run, ignore_errors=True)
    if not os.path.isdir(d):
        return
    if not os.path.exists(os.path.join(d, MARKER)):
        if os.listdir(d):
            raise CephRgwError("not wiping %s: it was not made by ceph_rgw.py "
                               "(no %s file)" % (d, MARKER))
        return
    for ent in os.listdir(d):
        if ent == MARKER:
            continue
        path = os.path.join(d, ent)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    try:
        os.unlink(os.path.join(d, MARKER))
    except FileNotFoundError:
        pass


def collect_garbage(dir: str) -> None:
    """Delete the tails of deleted objects now (`radosgw-admin gc process --include-all`).

    The gateway's own collector runs once a minute (`rgw gc processor period`); a benchmark
    calls this after deleting large objects so that the collection lands between measured runs,
    not inside whichever run the timer happens to hit (about 0.16 CPU-s per GiB here)."""
    d = os.path.abspath(dir)
    _run(d, ["radosgw-admin", "-c", _paths(d)["conf"], "gc", "process", "--include-all"],
         timeout=300.0, what="radosgw-admin gc process")


def status(dir: str) -> Dict[str, object]:
    d = os.path.abspath(dir)
    procs = {name: pid for name, pid in _read_pids(d)
             if _alive(pid) and _belongs(pid, d)}
    info = {}
    try:
        with open(_paths(d)["info"]) as f:
            info = json.load(f)
    except (OSError, ValueError):
        pass
    return {"running": procs, "info": info}


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        description="Throw-away single-node Ceph RGW (S3) on 127.0.0.1")
    sub = ap.add_subparsers(dest="cmd", required=True,
                            metavar="{install,start,stop,status}")
    sub.add_parser("install", help="apt-get install the Ceph packages")
    sp = sub.add_parser("start", help="start a fresh cluster in DIR")
    sp.add_argument("--dir", required=True)
    sp.add_argument("--port", type=int, default=None)
    sp.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    sp.add_argument("--watch-pid", type=int, default=None,
                    help="stop the cluster when this process exits")
    sp = sub.add_parser("stop", help="stop the cluster in DIR and wipe DIR")
    sp.add_argument("--dir", required=True)
    sp = sub.add_parser("status", help="show what runs for DIR")
    sp.add_argument("--dir", required=True)
    sp = sub.add_parser("_watchdog", help=argparse.SUPPRESS)
    sp.add_argument("--dir", required=True)
    sp.add_argument("--pid", type=int, required=True)
    a = ap.parse_args(argv)

    try:
        if a.cmd == "install":
            changed = install()
            print("ceph packages %s" % ("installed" if changed
                                        else "already installed"),
                  file=sys.stderr)
        elif a.cmd == "start":
            info = start(a.dir, a.port, timeout=a.timeout,
                         watch_pid=a.watch_pid)
            print(json.dumps(info), flush=True)
        elif a.cmd == "stop":
            stop(a.dir)
        elif a.cmd == "status":
            print(json.dumps(status(a.dir)))
        elif a.cmd == "_watchdog":
            _watchdog(os.path.abspath(a.dir), a.pid)
    except AptUnreachable as e:
        print("ceph_rgw: error: %s" % e, file=sys.stderr)
        return EXIT_APT_UNREACHABLE
    except CephRgwError as e:
        print("ceph_rgw: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
