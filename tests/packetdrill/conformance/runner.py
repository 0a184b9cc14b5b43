"""Runs packetdrill scripts against tcpemu's shim library (or the kernel)
and writes the tables: `scripts/packetdrill --help`.

Each packetdrill process runs in a throwaway network namespace of its own,
with the project's `sysctl` stand-in first on PATH, so that no script can
change the host's settings; the namespace is deleted after the run, also
after a timeout, a failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

from conformance import normalise as norm
from conformance.report import render_markdown, to_json
from conformance.results import (
    FAILED,
    NORMALISED,
    ORIGINAL,
    PASSED,
    SKIPPED,
    Result,
    classify,
    error_context,
    first_error_line,
)
from conformance.script import Script, load_script, parse_header
from conformance.skips import NORMALISABLE, skip_reason
from conformance.suites import (
    ADDRESS_ARGS,
    LOCAL_IP,
    PACKETDRILL_COMMIT,
    PACKETDRILL_ENV,
    SUITES,
    discover,
    git_head,
    packetdrill_missing_message,
    pin_warning,
    read_subset,
    suite_missing_message,
    suite_roots,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SYSCTL_STANDIN = os.path.join(REPO, "tests", "packetdrill", "sysctl")
SOCKSTAT_STANDIN = os.path.join(REPO, "tests", "packetdrill", "sockstat")
DEFAULT_LIB = os.path.join(REPO, "build", "tests", "packetdrill", "libtcpemu_packetdrill.so")
DEFAULT_OUT = os.path.join(REPO, "build", "packetdrill-conformance")
MAX_JOBS = 2
DEFAULT_MTU = 1500


@dataclass
class Options:
    stack: str  # "so" or "kernel"
    packetdrill: str
    library: str
    jobs: int
    timeout: float
    tolerance_usecs: Optional[int]
    extra_so_flags: List[str]
    profile: Optional[str]
    normalise: bool
    verbose: bool


def so_flags(
    profile: str,
    mtu: Optional[int],
    sysctl_file: str,
    extra: Sequence[str],
    sockstat_file: Optional[str] = None,
) -> str:
    """The --so_flags string: whitespace-separated key=value pairs."""
    flags = [
        f"profile={profile}",
        f"mtu={mtu if mtu is not None else DEFAULT_MTU}",
        f"sysctl_file={sysctl_file}",
        f"local_ip={LOCAL_IP}",
    ]
    if sockstat_file is not None:
        flags.append(f"sockstat_file={sockstat_file}")
    for item in extra:
        key = item.split("=", 1)[0]
        flags = [f for f in flags if f.split("=", 1)[0] != key]
        flags.append(item)
    return " ".join(flags)


def packetdrill_command(
    opts: Options,
    script: Script,
    script_path: str,
    sysctl_file: str,
    sockstat_file: Optional[str] = None,
) -> List[str]:
    """packetdrill's argv for one script (without the namespace wrapper)."""
    suite = SUITES[script.suite]
    cmd = [opts.packetdrill, *ADDRESS_ARGS, *suite.args]
    if opts.stack == "so":
        profile = opts.profile or suite.profile
        flags = so_flags(
            profile, script.header.mtu, sysctl_file, opts.extra_so_flags, sockstat_file
        )
        cmd += [f"--so_filename={opts.library}", f"--so_flags={flags}"]
    if opts.tolerance_usecs is not None:
        cmd.append(f"--tolerance_usecs={opts.tolerance_usecs}")
    if opts.verbose:
        cmd.append("--verbose")
    cmd.append(script_path)
    return cmd


class Namespaces:
    """The network namespaces alive now, so that every exit deletes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: Set[str] = set()
        self._count = itertools.count(1)
        self._procs: Set[subprocess.Popen[str]] = set()
        self._stopping = False

    def create(self, stack: str) -> str:
        name = f"pd-{os.getpid()}-{next(self._count)}"
        with self._lock:
            if self._stopping:
                raise KeyboardInterrupt
            self._live.add(name)
        try:
            _ip("netns", "add", name)
            _ip("-n", name, "link", "set", "lo", "up")
            if stack == "so":
                # Linux's defaults.sh ends with `tc qdisc add dev tun0 root
                # pfifo`: with the shim packetdrill opens no tun device, so
                # the namespace gets an idle one of that name.
                _ip("-n", name, "tuntap", "add", "dev", "tun0", "mode", "tun")
                _ip("-n", name, "link", "set", "tun0", "up")
        except RuntimeError:
            self.delete(name)
            raise
        return name

    def delete(self, name: str) -> None:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        with self._lock:
            self._live.discard(name)

    def track(self, proc: subprocess.Popen[str], alive: bool) -> None:
        with self._lock:
            if alive:
                self._procs.add(proc)
            else:
                self._procs.discard(proc)

    def cleanup(self) -> None:
        with self._lock:
            self._stopping = True
            procs = list(self._procs)
            names = list(self._live)
        for proc in procs:
            _kill_group(proc)
        for name in names:
            self.delete(name)


def _ip(*args: str) -> None:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {out.stderr.strip()}")


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class Runner:
    def __init__(self, opts: Options, workdir: str) -> None:
        self.opts = opts
        self.workdir = workdir
        self.namespaces = Namespaces()
        self.bindir = os.path.join(workdir, "bin")
        os.makedirs(self.bindir, exist_ok=True)
        os.symlink(SYSCTL_STANDIN, os.path.join(self.bindir, "sysctl"))
        if opts.stack == "so":
            os.symlink(SOCKSTAT_STANDIN, os.path.join(self.bindir, "sockstat"))
        self._serial = itertools.count(1)

    def run_one(self, script: Script, script_path: str) -> Tuple[Optional[int], str, str, float]:
        """Runs packetdrill on script_path (the script or its normalised copy)
        from the script's own directory: (returncode or None on timeout,
        stdout, stderr, seconds)."""
        serial = next(self._serial)
        sysctl_file = os.path.join(self.workdir, f"sysctl-{serial}.txt")
        open(sysctl_file, "w").close()
        env = dict(os.environ)
        env["PATH"] = self.bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        env["TCPEMU_PD_SYSCTL"] = sysctl_file
        sockstat_file: Optional[str] = None
        if self.opts.stack == "so":
            sockstat_file = os.path.join(self.workdir, f"sockstat-{serial}.txt")
            env["TCPEMU_PD_SOCKSTAT"] = sockstat_file
        cmd = packetdrill_command(self.opts, script, script_path, sysctl_file, sockstat_file)
        start = time.monotonic()
        ns = self.namespaces.create(self.opts.stack)
        try:
            argv = ["ip", "netns", "exec", ns, "nice", "-n", "10", *cmd]
            if self.opts.verbose:
                print("+ " + shlex.join(argv), file=sys.stderr)
            proc = subprocess.Popen(
                argv,
                cwd=os.path.dirname(script.path),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                start_new_session=True,
            )
            self.namespaces.track(proc, True)
            try:
                stdout, stderr = proc.communicate(timeout=self.opts.timeout)
                code: Optional[int] = proc.returncode
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                stdout, stderr = proc.communicate()
                code = None
            finally:
                self.namespaces.track(proc, False)
        finally:
            self.namespaces.delete(ns)
        return code, stdout, stderr, time.monotonic() - start

    def result(self, script: Script, variant: str, path: str, rules: List[str]) -> Result:
        code, stdout, stderr, seconds = self.run_one(script, path)
        outcome, detail, category = classify(code, stderr, stdout, self.opts.timeout)
        first = first_error_line(stderr, stdout)
        context = error_context(stderr, first) if outcome == FAILED else []
        detail = detail.replace(path, script.rel)
        context = [line.replace(path, script.rel) for line in context]
        return Result(
            script.suite,
            script.rel,
            script.directory,
            script.group,
            variant,
            outcome,
            detail,
            category,
            rules,
            round(seconds, 3),
            context,
        )

    def layout(self, script: Script) -> str:
        """The option layout of the stack under test: Linux's for the kernel,
        the profile's for the shim."""
        if self.opts.stack == "kernel":
            return "linux"
        return self.opts.profile or SUITES[script.suite].profile

    def skipped(self, script: Script, variant: str, reason: str, name: str) -> Result:
        return Result(
            script.suite,
            script.rel,
            script.directory,
            script.group,
            variant,
            SKIPPED,
            reason,
            name,
        )

    def run_script(self, script: Script) -> List[Result]:
        rule = skip_reason(script, self.opts.stack)
        if rule is not None:
            results = [self.skipped(script, ORIGINAL, rule.reason, rule.name)]
            if rule.name not in NORMALISABLE or not self.opts.normalise:
                return results
        else:
            results = [self.result(script, ORIGINAL, script.path, [])]
        if results[0].outcome in (FAILED, SKIPPED) and self.opts.normalise:
            text, used = norm.normalise(script.text, script.suite, self.layout(script))
            later = skip_reason(
                dataclasses.replace(script, text=text, header=parse_header(text)),
                self.opts.stack,
            )
            if used and later is not None:
                results.append(self.skipped(script, NORMALISED, later.reason, later.name))
            elif used:
                path = os.path.join(self.workdir, "normalised", script.suite, script.rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                results.append(self.result(script, NORMALISED, path, used))
        return results


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/packetdrill",
        description=(
            "Run packetdrill scripts against tcpemu's engine through "
            "libtcpemu_packetdrill.so (or the Linux kernel) and print one table "
            "per suite directory. Needs root (network namespaces) and, in the "
            f"environment, {PACKETDRILL_ENV}=<packetdrill binary> and at least "
            "one of PD_FREEBSD_SUITE=<tcp-testsuite checkout>, "
            "PD_LINUX_SUITE=<packetdrill checkout>/gtests/net/tcp."
        ),
    )
    p.add_argument(
        "--stack",
        choices=("so", "kernel"),
        default="so",
        help="so: the shim library (default); kernel: Linux itself, a baseline",
    )
    p.add_argument(
        "--suite",
        action="append",
        choices=sorted(SUITES),
        help="suites to run (default: every one whose variable is set)",
    )
    p.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="DIR",
        help="only these suite directories (e.g. snd-syn); repeatable",
    )
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="TEXT",
        help="only scripts whose relative path contains TEXT; repeatable",
    )
    p.add_argument(
        "--subset",
        metavar="FILE",
        help="run exactly the scripts listed in FILE (relative to the suite "
        "roots); exit non-zero unless every one passes as written",
    )
    p.add_argument(
        "--lib",
        default=os.environ.get("TCPEMU_PD_LIB", DEFAULT_LIB),
        help="the shim library (default: build/tests/packetdrill/"
        "libtcpemu_packetdrill.so, or $TCPEMU_PD_LIB)",
    )
    p.add_argument(
        "--profile",
        choices=("freebsd", "linux"),
        help="override the shim profile (default: the suite's own)",
    )
    p.add_argument(
        "--so-flag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra or overriding so_flags entry (e.g. rto_min_ms=200)",
    )
    p.add_argument(
        "--tolerance-usecs",
        type=int,
        help="pass --tolerance_usecs to packetdrill (default: the script's)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=MAX_JOBS,
        help=f"packetdrill processes at once (at most {MAX_JOBS})",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="wall-clock seconds per run before it counts as a timeout failure",
    )
    p.add_argument(
        "--no-normalise", action="store_true", help="do not rerun failed scripts normalised"
    )
    p.add_argument("--out", default=DEFAULT_OUT, help="directory for report.md and results.json")
    p.add_argument(
        "--list",
        action="store_true",
        help="list the selected scripts and their skip reasons; run nothing",
    )
    p.add_argument("--verbose", "-v", action="store_true")
    return p


def select(args: argparse.Namespace, roots: Dict[str, str]) -> Tuple[List[Script], List[str]]:
    """The scripts to run, and the errors (subset paths not found)."""
    errors: List[str] = []
    scripts: List[Script] = []
    if args.subset:
        with open(args.subset, encoding="utf-8") as f:
            wanted = read_subset(f.read())
        for rel in wanted:
            hits = [name for name, root in roots.items() if os.path.isfile(os.path.join(root, rel))]
            if len(hits) != 1:
                where = "in no suite root" if not hits else f"in several ({', '.join(hits)})"
                errors.append(f"{rel}: found {where}")
                continue
            scripts.append(load_script(hits[0], roots[hits[0]], rel))
        return scripts, errors
    for name, root in roots.items():
        suite = SUITES[name]
        for directory in suite.dirs:
            if args.dir and directory not in args.dir:
                continue
            for rel in discover(root, directory):
                if args.filter and not any(t in rel for t in args.filter):
                    continue
                scripts.append(load_script(name, root, rel))
    return scripts, errors


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    env = os.environ
    roots = suite_roots(env)
    chosen = args.suite or list(SUITES)
    missing = [name for name in chosen if name not in roots]
    for name in missing:
        print(suite_missing_message(SUITES[name]), file=sys.stderr)
    roots = {name: root for name, root in roots.items() if name in chosen}
    if (args.suite and missing) or not roots:
        return 2

    known = {d for name in roots for d in SUITES[name].dirs}
    unknown = [d for d in args.dir if d not in known]
    if unknown:
        print(
            f"error: --dir {', '.join(unknown)}: not one of {', '.join(sorted(known))}",
            file=sys.stderr,
        )
        return 2
    scripts, errors = select(args, roots)
    for error in errors:
        print(f"error: subset: {error}", file=sys.stderr)
    if args.list:
        for s in scripts:
            rule = skip_reason(s, args.stack)
            print(f"{s.suite}\t{s.rel}\t{'skip: ' + rule.name if rule else 'run'}")
        return 1 if errors else 0

    packetdrill = env.get(PACKETDRILL_ENV, "")
    if not packetdrill or not os.access(packetdrill, os.X_OK):
        print(packetdrill_missing_message(), file=sys.stderr)
        return 2
    if args.stack == "so" and not os.path.isfile(args.lib):
        print(
            f"error: the shim library {args.lib} does not exist: build it "
            "(cmake --build build --target tcpemu_packetdrill) or pass --lib; "
            "--stack kernel runs the scripts against Linux instead",
            file=sys.stderr,
        )
        return 2
    if os.geteuid() != 0:
        print("error: packetdrill runs in network namespaces: run as root", file=sys.stderr)
        return 2
    if shutil.which("ip") is None:
        print("error: `ip` (iproute2) is needed for network namespaces", file=sys.stderr)
        return 2
    meta = header_meta(args, packetdrill, roots)

    opts = Options(
        stack=args.stack,
        packetdrill=os.path.abspath(packetdrill),
        library=os.path.abspath(args.lib),
        jobs=max(1, min(MAX_JOBS, args.jobs)),
        timeout=args.timeout,
        tolerance_usecs=args.tolerance_usecs,
        extra_so_flags=list(args.so_flag),
        profile=args.profile,
        normalise=not args.no_normalise,
        verbose=args.verbose,
    )
    results = execute(opts, scripts)
    os.makedirs(args.out, exist_ok=True)
    markdown = render_markdown(results, meta)
    with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        f.write(to_json(results, meta))
    print(markdown)
    print(f"wrote {args.out}/report.md and {args.out}/results.json", file=sys.stderr)
    if args.subset:
        bad = [r for r in results if r.variant == ORIGINAL and r.outcome != PASSED]
        for r in bad:
            print(f"subset: {r.script}: {r.outcome}: {r.detail}", file=sys.stderr)
        return 1 if bad or errors else 0
    return 0


def shown_path(path: str) -> str:
    """path relative to the repository when inside it, else absolute."""
    full = os.path.abspath(path)
    inside = os.path.commonpath([full, REPO]) == REPO
    return os.path.relpath(full, REPO) if inside else full


def header_meta(
    args: argparse.Namespace, packetdrill: str, roots: Dict[str, str]
) -> Dict[str, object]:
    warnings: List[str] = []
    head = git_head(packetdrill)
    w = pin_warning("packetdrill", packetdrill, PACKETDRILL_COMMIT, head)
    if w:
        warnings.append(w)
    suites: Dict[str, str] = {}
    for name, root in roots.items():
        suite = SUITES[name]
        suite_head = git_head(root)
        w = pin_warning(suite.title, root, suite.commit, suite_head)
        if w:
            warnings.append(w)
        suites[suite.title] = suite_head or "not a git checkout"
    for w in warnings:
        print(w, file=sys.stderr)
    return {
        "stack": args.stack,
        "command": "scripts/packetdrill " + shlex.join(sys.argv[1:]),
        "packetdrill": head or "not a git checkout",
        "library": shown_path(args.lib) if args.stack == "so" else "",
        "so_flags": " ".join(args.so_flag),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "suites": suites,
        "warnings": warnings,
    }


def execute(opts: Options, scripts: Sequence[Script]) -> List[Result]:
    """Runs every script, at most opts.jobs at once, in order of the list;
    Ctrl-C or SIGTERM kills the runs and deletes their namespaces."""
    workdir = tempfile.mkdtemp(prefix="tcpemu-pd-")
    runner = Runner(opts, workdir)
    done: List[List[Result]] = [[] for _ in scripts]

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    interrupted = False
    pool = ThreadPoolExecutor(max_workers=opts.jobs)
    try:
        futures = [pool.submit(runner.run_script, s) for s in scripts]
        for i, future in enumerate(futures):
            done[i] = future.result()
            for r in done[i]:
                mark = {PASSED: "ok  ", FAILED: "FAIL", SKIPPED: "skip"}[r.outcome]
                tag = f" [normalised: {', '.join(r.rules)}]" if r.variant == NORMALISED else ""
                detail = f"  {r.detail}" if r.detail and r.outcome != PASSED else ""
                print(f"{mark} {r.suite}/{r.script}{tag}{detail}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        # A second Ctrl-C (or a signal to the whole process group) must not
        # cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pool.shutdown(wait=False, cancel_futures=True)
        runner.namespaces.cleanup()
        interrupted = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        runner.namespaces.cleanup()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)
    if interrupted:
        print("interrupted: runs killed, namespaces deleted", file=sys.stderr)
        raise SystemExit(130)
    return [r for rs in done for r in rs]
