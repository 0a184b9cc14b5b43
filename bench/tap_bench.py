#!/usr/bin/env python3
"""Throughput of the engine against the Linux kernel over a TAP device, for
docs/benchmarks.md, beside baselines measured in the same run.

    sudo clients/python/.venv/bin/python bench/tap_bench.py [--runs 3]
        [--bytes 1000000000] [--mtu 1500] [--no-offloads] [--no-baselines]

tcpemud (build/server/tcpemud, or $TCPEMUD) gets one interface at MTU 1500;
its TAP device is moved into a namespace of its own, where a kernel TCP
socket (tests/interop/peer.py, hashing off) moves --bytes to or from the
engine: engine->kernel (the engine writes, the kernel reads to end of
stream) and kernel->engine (the kernel writes, the engine's listener reads,
timed until the engine's FIN, so every byte was read). By default tcpemud
opens the device with its offloads (--tap_offloads, docs/tap.md): the kernel
hands it TCP segments of up to 64 KiB, which the engine cuts to the MSS.
--no-offloads runs tcpemud with --tap_offloads=false and turns the kernel
side's offloads off, as bench/tap_baselines.sh sets smoltcp's. Times are taken on
the kernel's side, from accept or connect to the end of the stream, as
smoltcp's benchmark does. Each direction runs --runs times, interleaved; the
median is reported. Then bench/tap_baselines.sh measures smoltcp's own TAP
benchmark and kernel<->kernel over veth in the same run, and the ratios are
printed. Needs root; everything created is deleted on exit.
"""

from __future__ import annotations

import argparse
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


def peer(*args: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        ["ip", "netns", "exec", NS, sys.executable, str(PEER), *args, "--no-hash"],
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


def engine_to_kernel(
    stub: rpc.EmulatorStub, iface: pb.Interface, n: int, port: int
) -> float:
    p = peer("sink", "--bind", KERNEL, "--port", str(port))
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


def kernel_to_engine(
    stub: rpc.EmulatorStub, iface: pb.Interface, n: int, port: int
) -> float:
    stub.Listen(pb.ListenRequest(interface_id=iface.id, port=port))
    try:
        p = peer("source", "--connect", ENGINE, "--port", str(port), "--bytes", str(n))
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
        "--no-offloads",
        action="store_true",
        help="tcpemud --tap_offloads=false, kernel-side offloads off",
    )
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("tap_bench: needs root (network namespaces, TAP devices)")

    binary = os.environ.get("TCPEMUD", str(REPO / "build/server/tcpemud"))
    port = free_port()
    daemon = subprocess.Popen(
        [
            binary,
            f"--listen=127.0.0.1:{port}",
            "--metrics_listen=",
            "--shards=1",
            f"--tap_offloads={'false' if args.no_offloads else 'true'}",
        ],
        stderr=subprocess.DEVNULL,
    )
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    results: dict[str, list[float]] = {"engine->kernel": [], "kernel->engine": []}
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=20)
        stub = rpc.EmulatorStub(channel)
        iface = stub.CreateInterface(
            pb.CreateInterfaceRequest(address=f"{ENGINE}/24", mtu=args.mtu)
        )
        for cmd in (
            f"ip link set dev {iface.name} netns {NS}",
            f"ip -n {NS} addr add {KERNEL}/24 dev {iface.name}",
            f"ip -n {NS} link set {iface.name} mtu {args.mtu} up",
            f"ip -n {NS} link set lo up",
        ):
            subprocess.run(cmd, shell=True, check=True)
        # --no-offloads: as bench/tap_baselines.sh sets up smoltcp's device,
        # so the kernel handles and checksums every MTU-sized segment. IPv6
        # off either way, so nothing else crosses the device.
        off = ("tso", "gso", "gro", "lro", "tx", "rx", "sg")
        for feature in off if args.no_offloads else ():
            subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    NS,
                    "ethtool",
                    "-K",
                    iface.name,
                    feature,
                    "off",
                ],
                capture_output=True,
                check=False,
            )
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                NS,
                "sysctl",
                "-qw",
                f"net.ipv6.conf.{iface.name}.disable_ipv6=1",
            ],
            capture_output=True,
            check=False,
        )
        for run in range(args.runs):
            results["engine->kernel"].append(
                engine_to_kernel(stub, iface, args.bytes, 5001 + run)
            )
            results["kernel->engine"].append(
                kernel_to_engine(stub, iface, args.bytes, 6001 + run)
            )
            time.sleep(0.2)
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=False)
        daemon.terminate()
        daemon.wait(timeout=30)

    offloads = "off" if args.no_offloads else "on"
    print(
        f"tcpemu over TAP, MTU {args.mtu}, offloads {offloads},"
        f" {args.bytes} bytes, median of {args.runs}"
    )
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(runs)
        print(
            f"  {name:16s} {medians[name]:6.2f} Gbit/s   runs: "
            + ", ".join(f"{r:.2f}" for r in runs)
        )
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
    mine = {
        "->kernel": medians["engine->kernel"],
        "kernel->": medians["kernel->engine"],
    }
    for key in sorted(k for k in kv if k.endswith(".gbps_median")):
        name = key.removesuffix(".gbps_median")
        direction = kv.get(f"{name}.direction", name)
        base = float(kv[key])
        line = f"  {name:20s} {direction:28s} {base:6.2f} Gbit/s"
        if direction.startswith("smoltcp->"):
            line += f"   tcpemu/smoltcp = {mine['->kernel'] / base:.2f}"
        elif direction.endswith("->smoltcp"):
            line += f"   tcpemu/smoltcp = {mine['kernel->'] / base:.2f}"
        else:
            line += (
                f"   tcpemu/veth = {mine['->kernel'] / base:.2f} (engine->kernel),"
                f" {mine['kernel->'] / base:.2f} (kernel->engine)"
            )
        print(line)
    print(json.dumps({"tcpemu": medians, "baselines": kv}, indent=1))


if __name__ == "__main__":
    main()
