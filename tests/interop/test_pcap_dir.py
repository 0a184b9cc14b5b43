"""tcpemud --pcap_dir records every session, emulated or not, and ExportPcap
streams the recorded file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from conftest import PATIENCE, REPO, _free_port, wait_session
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2 as pb
from tcpemu._gen.tcpemu.v1 import tcpemu_pb2_grpc as rpc


def test_pcap_dir_records_every_session(tmp_path: Path) -> None:
    if shutil.which("tcpdump") is None:
        pytest.fail("tcpdump is missing: run scripts/setup")
    binary = os.environ.get("TCPEMUD", str(REPO / "build/server/tcpemud"))
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--listen=127.0.0.1:{port}",
            "--metrics_listen=",
            f"--pcap_dir={tmp_path}",
        ],
        stderr=sys.stderr,
    )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=PATIENCE)
        stub = rpc.EmulatorStub(channel)
        net = stub.CreateNetwork(pb.CreateNetworkRequest(clock=pb.CLOCK_KIND_VIRTUAL))
        link = stub.CreateLink(
            pb.CreateLinkRequest(
                network_id=net.id,
                forward=pb.PathSpec(delay={"nanos": 5_000_000}),
                reverse=pb.PathSpec(delay={"nanos": 5_000_000}),
            )
        )
        ids = []
        for _ in range(2):
            s = stub.OpenSession(
                pb.OpenSessionRequest(network_id=net.id, link_id=link.id)
            )
            stub.Write(
                pb.WriteRequest(
                    session_id=s.id, endpoint=pb.ENDPOINT_CLIENT, fill_bytes=100_000
                )
            )
            stub.Close(pb.CloseRequest(session_id=s.id, endpoint=pb.ENDPOINT_CLIENT))
            ids.append(s.id)
        stub.AdvanceTime(pb.AdvanceTimeRequest(network_id=net.id, until_idle=True))
        for sid in ids:
            final = wait_session(stub, sid, lambda x: x.destroyed, PATIENCE)
            path = tmp_path / f"network-{net.id}-session-{sid}.pcap"
            assert path.exists()
            exported = b"".join(
                c.data for c in stub.ExportPcap(pb.ExportPcapRequest(session_id=sid))
            )
            assert exported == path.read_bytes()
            assert exported[:4] == bytes.fromhex("4d3cb2a1")  # nanosecond pcap
            out = subprocess.run(
                ["tcpdump", "-nn", "-r", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            packets = len(out.stdout.splitlines())
            # The client's view: every segment it sent and received.
            c = final.client.counters
            assert packets == c.segments_sent + c.segments_received
        assert final.capture
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_export_without_capture_is_refused(daemon) -> None:
    stub = daemon.stub
    link = stub.CreateLink(pb.CreateLinkRequest())
    s = stub.OpenSession(pb.OpenSessionRequest(link_id=link.id))
    try:
        with pytest.raises(grpc.RpcError) as err:
            b"".join(
                c.data for c in stub.ExportPcap(pb.ExportPcapRequest(session_id=s.id))
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "capture" in err.value.details()
    finally:
        stub.DeleteSession(pb.DeleteSessionRequest(session_id=s.id))
        stub.DeleteLink(pb.DeleteLinkRequest(link_id=link.id))
