"""The two script suites, packetdrill itself, where the user keeps them and
the commits this runner was written against.

Nothing here downloads or builds anything: packetdrill is GPLv2 and the
suites are not ours, so the user checks them out and builds packetdrill
themselves (docs/conformance.md) and names the paths in the environment.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

PACKETDRILL_ENV = "PACKETDRILL"
PACKETDRILL_UPSTREAM = "https://github.com/google/packetdrill"
PACKETDRILL_COMMIT = "2c4001c4d6fc04a3bbd01d4b92be62717a37648a"

# Addresses of run_all.py's IPv4 variant (gtests/net/packetdrill/run_all.py):
# the local address is the stack under test's.
LOCAL_IP = "192.168.0.1"
REMOTE_IP = "192.0.2.1"
ADDRESS_ARGS: Tuple[str, ...] = (
    f"--local_ip={LOCAL_IP}",
    f"--gateway_ip={LOCAL_IP}",
    "--netmask_ip=255.255.0.0",
    f"--remote_ip={REMOTE_IP}",
)


@dataclass(frozen=True)
class Suite:
    name: str  # "freebsd" or "linux"
    title: str
    env: str  # the environment variable naming the suite root
    upstream: str
    commit: str
    root_hint: str  # what the root is, within the upstream checkout
    profile: str  # the shim's profile= for its scripts
    dirs: Tuple[str, ...]
    # Extra packetdrill arguments for every script of the suite.
    args: Tuple[str, ...] = ()


FREEBSD = Suite(
    name="freebsd",
    title="FreeBSD tcp-testsuite",
    env="PD_FREEBSD_SUITE",
    upstream="https://github.com/freebsd-net/tcp-testsuite",
    commit="04b8c73fc5081fe3792f1bed9168c9b22aaedddb",
    root_hint="the root of a tcp-testsuite checkout",
    profile="freebsd",
    dirs=("rcv-data-segments", "state-event-engine", "snd-syn", "socket-api"),
)

LINUX = Suite(
    name="linux",
    title="packetdrill gtests/net/tcp (Linux)",
    env="PD_LINUX_SUITE",
    upstream=PACKETDRILL_UPSTREAM,
    commit=PACKETDRILL_COMMIT,
    root_hint="gtests/net/tcp inside a packetdrill checkout",
    profile="linux",
    dirs=(
        "shutdown",
        "close",
        "blocking",
        "nagle",
        "mss",
        "fast_retransmit",
        "fast_recovery",
        "limited_transmit",
        "ts_recent",
        "sack",
    ),
    # run_all.py's IPv4 variant.
    args=(
        "--send_omit_free",
        "--ip_version=ipv4",
        "-D",
        "TFO_COOKIE=3021b9d889017eeb",
        "-D",
        "CODE=host_unreachable",
        "-D",
        "CMSG_LEVEL_IP=SOL_IP",
        "-D",
        "CMSG_TYPE_RECVERR=IP_RECVERR",
    ),
)

SUITES: Dict[str, Suite] = {s.name: s for s in (FREEBSD, LINUX)}


def missing_message(env: str, what: str, upstream: str, commit: str, root_hint: str) -> str:
    return (
        f"{env} is not set (or does not exist): set it to {root_hint}.\n"
        f"  {what} lives at {upstream}; this runner is pinned to commit {commit}.\n"
        f"  Check it out yourself (git clone {upstream} && git checkout {commit}); "
        "see docs/conformance.md."
    )


def packetdrill_missing_message() -> str:
    return missing_message(
        PACKETDRILL_ENV,
        "packetdrill (GPLv2, built by you from its own README)",
        PACKETDRILL_UPSTREAM,
        PACKETDRILL_COMMIT,
        "the packetdrill binary you built (gtests/net/packetdrill/packetdrill)",
    )


def suite_missing_message(suite: Suite) -> str:
    return missing_message(suite.env, suite.title, suite.upstream, suite.commit, suite.root_hint)


def git_head(path: str) -> Optional[str]:
    """The commit checked out where path lives, or None outside a git checkout."""
    directory = path if os.path.isdir(path) else os.path.dirname(path) or "."
    try:
        out = subprocess.run(
            ["git", "-C", directory, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    head = out.stdout.strip()
    return head if out.returncode == 0 and len(head) == 40 else None


def pin_warning(what: str, path: str, expected: str, head: Optional[str]) -> Optional[str]:
    """A warning when path is a git checkout of another commit than expected."""
    if head is None:
        return f"note: {what} at {path} is not a git checkout: cannot check it is {expected[:12]}"
    if head != expected:
        return (
            f"warning: {what} at {path} is at commit {head[:12]}, not the pinned "
            f"{expected[:12]}: results may differ from the published ones"
        )
    return None


def discover(root: str, directory: str) -> List[str]:
    """The scripts of one suite directory, relative to the root, sorted."""
    found: List[str] = []
    base = os.path.join(root, directory)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for filename in filenames:
            if filename.endswith(".pkt"):
                rel = os.path.relpath(os.path.join(dirpath, filename), root)
                found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def suite_roots(env: Mapping[str, str]) -> Dict[str, str]:
    """The suites whose root is set and exists: name -> root."""
    roots: Dict[str, str] = {}
    for suite in SUITES.values():
        root = env.get(suite.env, "")
        if root and os.path.isdir(root):
            roots[suite.name] = os.path.abspath(root)
    return roots


def read_subset(text: str) -> List[str]:
    """Paths of a --subset file: one a line, '#' starts a comment."""
    paths: List[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            paths.append(line)
    return paths
