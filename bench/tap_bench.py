#!/usr/bin/env python3
"""Throughput of the engine against the Linux kernel over a TAP device, for
docs/benchmarks.md, beside baselines measured in the same run.

    sudo clients/python/.venv/bin/python bench/tap_bench.py [--runs 3]
        [--bytes 1000000000] [--mtu 1500] [--offloads on|off|both]
        [--base-tcpemud PATH] [--no-baselines]

tcpemud (build/server/tcpemud, or $TCPEMUD) gets one interface at MTU 1500;
its TAP device is moved into a namespace of its own, where a kernel TCP
socket (tests/interop/peer.py, hashing off) moves --bytes to or from the
engine: engine->kernel (the engine writes, the kernel reads to end of
stream) and kernel->engine (the kernel writes, the engine's listener reads,
timed until the engine's FIN, so every byte was read). --offloads both (the
default) runs two tcpemuds, each with its own device and namespace, and
interleaves their runs: one with its offloads (--tap_offloads, docs/tap.md:
the kernel hands it TCP segments of up to 64 KiB, which the engine cuts to
the MSS), one with --tap_offloads=false and the kernel side's offloads off,
as bench/tap_baselines.sh sets smoltcp's. Times are taken on
the kernel's side, from accept or connect to the end of the stream, as
smoltcp's benchmark does. --base-tcpemud adds a third tcpemud, another build
(an earlier commit, say) with its offloads on, interleaved with the others,
so a change is measured beside what it changes in the same run. Each direction runs --runs times, interleaved; the
median is reported. Then bench/tap_baselines.sh measures smoltcp's own TAP
benchmark and kernel<->kernel over veth in the same run, and the ratios are
printed. Needs root; everything created is deleted on exit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "clients/python/src"))

import grpc
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc

PEER = REPO / "tests/interop/peer.py"
NS = "tcpemu-bench-e"
ENGINE, KERNEL = "192.168.71.2", "192.168.71.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peer(ns: str, *args: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, str(PEER), *args, "--no-hash"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stderr is not None
    line = p.stderr.readline()
    if line.strip() != "ready":
        raise RuntimeError(f"peer did not start: {line!r}")
    return p


def result(p: subprocess.Popen[str]) -> dict:
    out, err = p.communicate(timeout=600)
    if p.returncode != 0:
        raise RuntimeError(err)
    return json.loads(out.strip().splitlines()[-1])


@dataclasses.dataclass
class Setup:
    """One tcpemud with one interface, its device in namespace `ns`."""

    offloads: bool
    tag: str
    ns: str
    daemon: subprocess.Popen[bytes]
    stub: rpc.EmulatorStub | None = None
    iface: pb.Interface | None = None


def start(binary: str, offloads: bool, mtu: int, tag: str) -> Setup:
    port = free_port()
    ns = f"{NS}-{tag}"
    daemon = subprocess.Popen(
        [
            binary,
            f"--listen=127.0.0.1:{port}",
            "--metrics_listen=",
            "--shards=1",
            f"--tap_offloads={'true' if offloads else 'false'}",
        ],
        stderr=subprocess.DEVNULL,
    )
    setup = Setup(offloads, tag, ns, daemon)
    subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=20)
    setup.stub = rpc.EmulatorStub(channel)
    setup.iface = setup.stub.CreateInterface(
        pb.CreateInterfaceRequest(address=f"{ENGINE}/24", mtu=mtu)
    )
    name = setup.iface.name
    for cmd in (
        f"ip link set dev {name} netns {ns}",
        f"ip -n {ns} addr add {KERNEL}/24 dev {name}",
        f"ip -n {ns} link set {name} mtu {mtu} up",
        f"ip -n {ns} link set lo up",
    ):
        subprocess.run(cmd, shell=True, check=True)
    # Offloads off: as bench/tap_baselines.sh sets up smoltcp's device, so
    # the kernel handles and checksums every MTU-sized segment. IPv6 off
    # either way, so nothing else crosses the device.
    off = ("tso", "gso", "gro", "lro", "tx", "rx", "sg")
    for feature in () if offloads else off:
        subprocess.run(
            ["ip", "netns", "exec", ns, "ethtool", "-K", name, feature, "off"],
            capture_output=True,
            check=False,
        )
    subprocess.run(
        ["ip", "netns", "exec", ns, "sysctl", "-qw",
         f"net.ipv6.conf.{name}.disable_ipv6=1"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    return setup


def stop(setup: Setup) -> None:
    subprocess.run(["ip", "netns", "del", setup.ns], check=False)
    setup.daemon.terminate()
    setup.daemon.wait(timeout=30)


def engine_to_kernel(setup: Setup, n: int, port: int) -> float:
    stub, iface = setup.stub, setup.iface
    assert stub is not None and iface is not None
    p = peer(setup.ns, "sink", "--bind", KERNEL, "--port", str(port))
    s = stub.OpenSession(
        pb.OpenSessionRequest(
            remote=pb.Remote(interface_id=iface.id, address=KERNEL, port=port)
        )
    )
    stub.Write(
        pb.WriteRequest(
            session_id=s.id,
            endpoint=pb.ENDPOINT_CLIENT,
            fill_bytes=n,
            wait={"seconds": 600},
        )
    )
    stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
    got = result(p)
    assert got["bytes"] == n, got
    return n * 8 / got["seconds"] / 1e9


def kernel_to_engine(setup: Setup, n: int, port: int) -> float:
    stub, iface = setup.stub, setup.iface
    assert stub is not None and iface is not None
    stub.Listen(pb.ListenRequest(interface_id=iface.id, port=port))
    try:
        p = peer(
            setup.ns,
            "source",
            "--connect",
            ENGINE,
            "--port",
            str(port),
            "--bytes",
            str(n),
        )
        got = result(p)
    finally:
        stub.DeleteListener(pb.DeleteListenerRequest(interface_id=iface.id, port=port))
    return n * 8 / got["seconds"] / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bytes", type=int, default=1_000_000_000)
    ap.add_argument("--mtu", type=int, default=1500)
    ap.add_argument(
        "--offloads",
        choices=["on", "off", "both"],
        default="both",
        help="tcpemud --tap_offloads; both: two daemons, runs interleaved",
    )
    ap.add_argument(
        "--base-tcpemud",
        metavar="PATH",
        help="another tcpemud build, run with its offloads on beside the others",
    )
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("tap_bench: needs root (network namespaces, TAP devices)")

    binary = os.environ.get("TCPEMUD", str(REPO / "build/server/tcpemud"))
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.offloads]
    daemons = [(binary, offloads, "on" if offloads else "off") for offloads in modes]
    if args.base_tcpemud:
        daemons.append((args.base_tcpemud, True, "base"))
    tags = [tag for _, _, tag in daemons]
    setups: list[Setup] = []
    results: dict[str, list[float]] = {}
    try:
        for path, offloads, tag in daemons:
            setups.append(start(path, offloads, args.mtu, tag))
        for run in range(args.runs):
            for setup in setups:
                tag = setup.tag
                results.setdefault(f"engine->kernel offloads {tag}", []).append(
                    engine_to_kernel(setup, args.bytes, 5001 + run)
                )
                results.setdefault(f"kernel->engine offloads {tag}", []).append(
                    kernel_to_engine(setup, args.bytes, 6001 + run)
                )
                time.sleep(0.2)
    finally:
        for setup in setups:
            stop(setup)

    print(f"tcpemu over TAP, MTU {args.mtu}, {args.bytes} bytes, median of {args.runs}")
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(runs)
        print(
            f"  {name:28s} {medians[name]:6.2f} Gbit/s   runs: "
            + ", ".join(f"{r:.2f}" for r in runs)
        )
    if "base" in tags:
        for d in ("engine->kernel", "kernel->engine"):
            for tag in tags:
                if tag != "base":
                    ratio = (
                        medians[f"{d} offloads {tag}"] / medians[f"{d} offloads base"]
                    )
                    print(f"  {d} offloads {tag} / base: {ratio:.2f}")
    if args.no_baselines:
        return
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
        subprocess.run(
            [
                str(REPO / "bench/tap_baselines.sh"),
                "--runs",
                str(args.runs),
                "--out",
                out.name,
            ],
            check=True,
        )
        lines = Path(out.name).read_text().splitlines()
    kv = dict(line.split("=", 1) for line in lines if "=" in line)
    print("\nSame run, MTU 1500: tcpemu beside the baselines")
    for key in sorted(k for k in kv if k.endswith(".gbps_median")):
        name = key.removesuffix(".gbps_median")
        direction = kv.get(f"{name}.direction", name)
        base = float(kv[key])
        print(f"  {name:20s} {direction:28s} {base:6.2f} Gbit/s")
        for tag in tags:
            outward = medians[f"engine->kernel offloads {tag}"]
            into = medians[f"kernel->engine offloads {tag}"]
            if direction.startswith("smoltcp->"):
                ratio = f"tcpemu/smoltcp = {outward / base:.2f}"
            elif direction.endswith("->smoltcp"):
                ratio = f"tcpemu/smoltcp = {into / base:.2f}"
            else:
                ratio = (
                    f"tcpemu/veth = {outward / base:.2f} (engine->kernel),"
                    f" {into / base:.2f} (kernel->engine)"
                )
            print(f"      offloads {tag:4s}  {ratio}")
    print(json.dumps({"tcpemu": medians, "baselines": kv}, indent=1))


if __name__ == "__main__":
    main()
