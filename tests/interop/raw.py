"""Raw frames on the kernel's side of a TAP interface, for the adversarial
interop tests.

Run inside the test's network namespace, this file is a small server on its
standard input and output:

    raw.py serve --iface DEV

It opens a packet socket on DEV, prints "ready <mac of DEV>" and answers one
line per command:

    send HEX...          writes each frame; answers "ok"
    paced SECONDS HEX... writes the frames evenly over SECONDS in the
                         background; answers "ok" at once
    wait                 answers "ok <seconds> <end>" once the last paced
                         run is done: how long it took, and when it ended
                         (monotonic seconds)
    watch PORT           records TCP frames the engine sends to PORT
    watchip ADDR         records TCP frames the engine sends to ADDR
    take                 answers "frames <t>:<hex> ..." with the recorded
                         frames (receive time, monotonic seconds) and forgets
                         them

Frames the kernel itself sends are never recorded; frames to another host's
address reach the packet socket all the same (the kernel drops them without
an answer, as it does not forward).

    raw.py source --connect ADDR --port P --bytes N --pause-at M [--seed S]
                  [--connect-timeout SECONDS]

is a kernel socket that connects, prints "ready" on standard error, sends M
bytes of peer.py's pattern, prints "paused" on standard output, waits for a
line on standard input, sends the rest, closes, waits for the other side to
close and prints {"bytes": n, "sha256": hex, "connected": t} (t: when it
connected, monotonic seconds), or {"error": "..."} when the connection
fails.

The test's side, RawHost, builds frames with scapy and drives the server.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import IO

SCRIPT = __file__
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
BLOCK = 1 << 20


# ---------------------------------------------------------------- in the namespace


class _Server:
    def __init__(self, iface: str) -> None:
        self.sock = socket.socket(
            socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)
        )
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        self.sock.bind((iface, ETH_P_ALL))
        self.lock = threading.Lock()
        self.ports: set[int] = set()
        self.addrs: set[bytes] = set()
        self.frames: list[tuple[float, bytes]] = []
        self.paced: threading.Thread | None = None
        self.paced_seconds = 0.0
        self.paced_end = 0.0
        with open(f"/sys/class/net/{iface}/address") as f:
            self.mac = f.read().strip()
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            frame, addr = self.sock.recvfrom(65536)
            if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 20 + 20:
                continue
            if frame[12:14] != b"\x08\x00" or frame[14 + 9] != 6:
                continue
            ihl = (frame[14] & 0x0F) * 4
            dst = frame[14 + 16 : 14 + 20]
            (dport,) = struct.unpack("!H", frame[14 + ihl + 2 : 14 + ihl + 4])
            with self.lock:
                if dport in self.ports or dst in self.addrs:
                    self.frames.append((time.monotonic(), frame))

    def _send(self, frames: list[bytes]) -> None:
        for f in frames:
            while True:
                try:
                    self.sock.send(f)
                    break
                except OSError as e:
                    # The device's queue is full (the frame was dropped):
                    # let it drain and send again.
                    if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                        raise
                    time.sleep(0.001)

    def _pace(self, seconds: float, frames: list[bytes]) -> None:
        start = time.monotonic()
        chunk = max(1, len(frames) // max(1, int(seconds * 200)))
        for i in range(0, len(frames), chunk):
            due = start + seconds * i / len(frames)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._send(frames[i : i + chunk])
        self.paced_end = time.monotonic()
        self.paced_seconds = self.paced_end - start

    def run(self, out: IO[str]) -> None:
        print(f"ready {self.mac}", file=out, flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            cmd, args = words[0], words[1:]
            if cmd == "send":
                self._send([bytes.fromhex(h) for h in args])
                print("ok", file=out, flush=True)
            elif cmd == "paced":
                frames = [bytes.fromhex(h) for h in args[1:]]
                self.paced = threading.Thread(
                    target=self._pace, args=(float(args[0]), frames), daemon=True
                )
                self.paced.start()
                print("ok", file=out, flush=True)
            elif cmd == "wait":
                if self.paced is not None:
                    self.paced.join()
                print(f"ok {self.paced_seconds} {self.paced_end}", file=out, flush=True)
            elif cmd == "watch":
                with self.lock:
                    self.ports.add(int(args[0]))
                print("ok", file=out, flush=True)
            elif cmd == "watchip":
                with self.lock:
                    self.addrs.add(socket.inet_aton(args[0]))
                print("ok", file=out, flush=True)
            elif cmd == "take":
                with self.lock:
                    got, self.frames = self.frames, []
                words = [f"{t:.6f}:{f.hex()}" for t, f in got]
                print(" ".join(["frames", *words]), file=out, flush=True)
            else:
                print(f"error unknown command {cmd}", file=out, flush=True)


def _source(args: argparse.Namespace) -> None:
    c = socket.socket()
    c.settimeout(args.connect_timeout)
    try:
        c.connect((args.connect, args.port))
    except OSError as e:
        print("ready", file=sys.stderr, flush=True)
        print(json.dumps({"error": str(e)}), flush=True)
        return
    connected = time.monotonic()
    c.settimeout(None)
    print("ready", file=sys.stderr, flush=True)
    block = random.Random(args.seed).randbytes(BLOCK)
    h = hashlib.sha256()
    sent = 0
    while sent < args.bytes:
        if sent == args.pause_at:
            print("paused", flush=True)
            sys.stdin.readline()
        off = sent % BLOCK
        n = min(args.bytes - sent, 64 << 10, BLOCK - off)
        if args.pause_at > sent:
            n = min(n, args.pause_at - sent)
        piece = block[off : off + n]
        c.sendall(piece)
        h.update(piece)
        sent += n
    c.shutdown(socket.SHUT_WR)
    c.settimeout(60)
    try:
        while c.recv(BLOCK):
            pass
    except OSError as e:
        # Everything was sent, but the other side never closed cleanly.
        print(json.dumps({"error": f"after sending: {e}"}), flush=True)
        return
    c.close()
    print(
        json.dumps({"bytes": sent, "sha256": h.hexdigest(), "connected": connected}),
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "source"])
    p.add_argument("--iface", default="")
    p.add_argument("--connect", default="")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--pause-at", type=int, default=-1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--connect-timeout", type=float, default=30)
    args = p.parse_args()
    if args.mode == "serve":
        _Server(args.iface).run(sys.stdout)
    else:
        _source(args)


# ---------------------------------------------------------------- the test's side


class RawHost:
    """Drives `raw.py serve` in a namespace: sends and records frames."""

    def __init__(self, ns: str, iface: str) -> None:
        self.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                __file__,
                "serve",
                "--iface",
                iface,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        words = self._line(timeout=20).split()
        assert words[0] == "ready", words
        self.mac: str = words[1]

    def _line(self, timeout: float = 30) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "raw.py did not answer"
        line = self.proc.stdout.readline()
        assert line, f"raw.py ended (exit {self.proc.poll()})"
        return line.strip()

    def _call(self, line: str, timeout: float = 30) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self._line(timeout)
        assert answer.startswith(("ok", "frames")), answer
        return answer

    def send(self, *frames: bytes) -> None:
        self._call(" ".join(["send", *(bytes(f).hex() for f in frames)]))

    def paced(self, seconds: float, frames: list[bytes]) -> None:
        self._call(" ".join(["paced", str(seconds), *(bytes(f).hex() for f in frames)]))

    def wait(self, timeout: float = 120) -> float:
        """Waits until the last paced run is done; returns when it ended
        (monotonic seconds, the clock every namespace shares)."""
        return float(self._call("wait", timeout).split()[2])

    def watch(self, port: int) -> None:
        self._call(f"watch {port}")

    def watch_address(self, addr: str) -> None:
        self._call(f"watchip {addr}")

    def take(self) -> list[tuple[float, bytes]]:
        out = []
        for word in self._call("take").split()[1:]:
            t, h = word.split(":")
            out.append((float(t), bytes.fromhex(h)))
        return out

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def respoof(frame: bytes, src: str, sport: int, seq: int) -> bytes:
    """A copy of an Ethernet/IPv4/TCP frame (as scapy built it) from another
    source address and port with another sequence number, checksums redone:
    thousands of distinct SYNs at the cost of one scapy build."""
    f = bytearray(frame)
    ihl = (f[14] & 0x0F) * 4
    ip, tcp = 14, 14 + ihl
    total = struct.unpack("!H", f[ip + 2 : ip + 4])[0]
    f[ip + 12 : ip + 16] = socket.inet_aton(src)
    f[ip + 10 : ip + 12] = b"\x00\x00"
    f[ip + 10 : ip + 12] = struct.pack("!H", _checksum(bytes(f[ip:tcp])))
    struct.pack_into(
        "!HHI", f, tcp, sport, struct.unpack("!H", f[tcp + 2 : tcp + 4])[0], seq
    )
    f[tcp + 16 : tcp + 18] = b"\x00\x00"
    seg = bytes(f[tcp : ip + total])
    pseudo = f[ip + 12 : ip + 20] + struct.pack("!BBH", 0, 6, len(seg))
    f[tcp + 16 : tcp + 18] = struct.pack("!H", _checksum(bytes(pseudo) + seg))
    return bytes(f)


def daemon_rss_bytes(binary_name: str = "tcpemud") -> int:
    """Resident memory of the tcpemud that this process started."""
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == me and comm == binary_name:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
    raise AssertionError(f"no {binary_name} child of this process")


if __name__ == "__main__":
    main()
