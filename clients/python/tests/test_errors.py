"""gRPC statuses become typed exceptions that keep the daemon's message."""

from __future__ import annotations

import socket

import grpc
import pytest

import tcpemu


def test_invalid_argument_names_the_field(client, vnet):
    with pytest.raises(tcpemu.InvalidArgument) as info:
        vnet.create_link(loss=0.5, mtu=10)
    err = info.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.message == "forward.mtu 10 out of range [68, 65535]"
    assert str(err) == err.message
    assert isinstance(err, ValueError) and isinstance(err, tcpemu.TcpemuError)
    with pytest.raises(tcpemu.InvalidArgument, match=r"^reverse\.corrupt 2 out of range \[0, 1\]$"):
        vnet.create_link(reverse={"corrupt": 2})


def test_invalid_argument_on_read_size(client, vnet):
    session = vnet.create_link().open_session(server_reader="manual")
    with pytest.raises(tcpemu.InvalidArgument, match=r"max_bytes 0 out of range \[1, "):
        session.read(0)


def test_not_found(client):
    with pytest.raises(tcpemu.NotFound, match="session_id 987654 not found") as info:
        client.session(987654)
    assert isinstance(info.value, LookupError)
    with pytest.raises(tcpemu.NotFound, match="link_id 987654 not found"):
        client.link(987654)


def test_failed_precondition_advance_on_realtime(client):
    default = client.network()
    assert default.clock == "realtime"
    with pytest.raises(tcpemu.FailedPrecondition, match="is REALTIME; AdvanceTime needs"):
        default.advance("1ms")
    with pytest.raises(tcpemu.FailedPrecondition, match="default network cannot be deleted"):
        client.delete_network(0)


def test_resource_exhausted_buffer_limit(client, vnet):
    link = vnet.create_link()
    with pytest.raises(tcpemu.ResourceExhausted, match=r"client\.send_buffer .* buffer limit"):
        link.open_session(client=tcpemu.TcpConfig(send_buffer="1GiB"))


def test_unavailable_when_nothing_listens():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The port is free again: nothing listens there.
    with (
        tcpemu.Client(f"127.0.0.1:{port}", timeout=2) as c,
        pytest.raises(tcpemu.Unavailable) as info,
    ):
        c.networks()
    assert isinstance(info.value, ConnectionError)
    assert info.value.message


def test_wait_for_times_out(client, rnet):
    link = rnet.create_link(delay="1s")
    session = link.open_session()
    with pytest.raises(tcpemu.DeadlineExceeded, match=r"client is SYN_SENT after 0\.2s"):
        session.wait_for("ESTABLISHED", timeout=0.2)


def test_wait_for_on_idle_virtual_network(client, vnet):
    session = vnet.create_link().open_session(server_closed=True)
    with pytest.raises(tcpemu.FailedPrecondition, match="will not reach ESTABLISHED"):
        session.wait_for("ESTABLISHED", timeout=30)
    snap = session.snapshot()
    assert snap.client.error == "refused"


def test_client_side_validation():
    with pytest.raises(ValueError, match="not a valid duration"):
        tcpemu.PathSpec(delay="fast").to_proto()
    session = tcpemu.Session(tcpemu.Client("127.0.0.1:1"), tcpemu.pb.Session(id=1))
    with pytest.raises(ValueError, match="endpoint: 'middle' is not valid; allowed: client"):
        session.write(b"x", endpoint="middle")
    with pytest.raises(ValueError, match="give data or fill=N"):
        session.write(b"x", fill=3)
    with pytest.raises(ValueError, match="one loss model"):
        tcpemu.PathSpec(loss=0.1, ge_loss=(0.1, 0.2, 0.3, 0.4)).to_proto()
    with pytest.raises(ValueError, match="allowed: newreno, cubic, bbr"):
        tcpemu.TcpConfig(congestion_control="vegas").to_proto()
    assert (
        tcpemu.TcpConfig(congestion_control="bbr").to_proto().congestion_control
        == tcpemu.pb.CONGESTION_CONTROL_BBR
    )
    assert (
        tcpemu.TcpConfig(congestion_control="cubic").to_proto().congestion_control
        == tcpemu.pb.CONGESTION_CONTROL_CUBIC
    )
