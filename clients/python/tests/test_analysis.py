"""events_to_dataframe and the time-sequence plot."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import tcpemu
from tcpemu.analysis import COLUMNS, events_to_dataframe
from tcpemu.plot import time_sequence

from conftest import tcpemud_path, transfer

pb = tcpemu.pb


@pytest.fixture
def lossy_trace(client, vnet):
    link = vnet.create_link(delay="20ms", rate="20Mbit", loss=0.02)
    session = link.open_session(client={"msl": "10ms"})
    stream = vnet.events(replay=True, until_destroyed=session)
    assert stream.wait_subscribed(10)
    transfer(session, vnet, 400_000)
    session.close()
    vnet.advance_until_idle()
    return session, list(stream)


def test_dataframe(lossy_trace):
    session, events = lossy_trace
    df = events_to_dataframe(events)
    assert list(df.columns) == list(COLUMNS)
    # The TCB columns are the proto's Tcb fields, every one, in its order: a
    # field added to the proto and not to the DataFrame fails here.
    tcb_fields = [f.name for f in pb.Tcb.DESCRIPTOR.fields]
    assert list(df.columns[list(df.columns).index("state") :]) == tcb_fields
    assert len(df) == len(events)  # no gap: row i is events[i]
    i, ev = next(
        (i, e)
        for i, e in enumerate(events)
        if isinstance(e, pb.Event) and e.kind == pb.EVENT_KIND_CWND_CHANGED
    )
    for name in tcb_fields[1:]:
        want = getattr(ev.tcb, name)
        if name == "cc_phase":  # the enum by name, as the JSON Lines trace has it
            want = pb.CcPhase.Name(want).removeprefix("CC_PHASE_").lower()
        assert df[name][i] == want, name
    assert df["state"][i] == pb.TcpState.Name(ev.tcb.state).removeprefix("TCP_STATE_")
    assert df.attrs["events_lost"] == 0
    counts = df["kind"].value_counts()
    assert counts["segment_sent"] == sum(e.kind == pb.EVENT_KIND_SEGMENT_SENT for e in events)
    sent = df[(df.kind == "segment_sent") & (df.endpoint == "client") & (df.len > 0)]
    assert sent["rel_seq"].min() == 1  # the first data byte follows the SYN
    assert str(df["cwnd"].dtype) == "Int64"
    assert df.loc[df.kind == "state_changed", "seq"].isna().all()

    drops = df[(df.kind == "segment_dropped") & (df.endpoint == "client") & (df.len > 0)]
    assert len(drops) > 0
    # The daemon reports link drops without a session id; they are attributed
    # by sequence space, and their relative numbers match data that was sent.
    assert (drops["session_id"] == session.id).all()
    assert set(drops["rel_seq"]) <= set(sent["rel_seq"])
    only = events_to_dataframe(events, session=session.id)
    assert len(only) == len(df)

    # The server's ACKs carry SACK blocks, relative like rel_ack, even when
    # the link dropped them (computed from the client's ISS).
    acks = df[(df.endpoint == "server") & df.kind.isin(["segment_sent", "segment_dropped"])]
    with_sack = acks[acks["sack"].map(len) > 0]
    assert (with_sack.kind == "segment_sent").any()
    for blocks in with_sack["sack"]:
        assert all(0 < left < right <= 400_002 for left, right in blocks), blocks
    assert str(df["ts_ok"].dtype) == "boolean"
    est = df[df.state == "ESTABLISHED"]
    assert est["ts_ok"].all() and est["sack_ok"].all()
    data = df[(df.kind == "segment_sent") & (df.len > 0)]
    assert data["ts_val"].notna().all()
    assert (data["window_bytes"] >= data["window"]).all()
    assert df.loc[df.kind == "rtt_sample", "sack"].isna().all()


def test_time_sequence_both_directions(lossy_trace, tmp_path):
    session, events = lossy_trace
    fig = time_sequence(events, tmp_path / "client.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(x.startswith("dropped by the link (") for x in labels)
    assert "receive window (ACK + win)" in labels
    assert (
        fig.axes[0].get_title() == f"session {session.id}: client \u2192 server time-sequence graph"
    )
    y_top = fig.axes[0].get_ylim()[1]
    assert 400_000 <= y_top < 1_000_000  # data and window, scaled, within reach
    full = fig.axes[0].get_ylim()
    zoom = time_sequence(events, xlim=(0.2, 0.3)).axes[0]
    assert zoom.get_xlim() == (0.2, 0.3)
    low, high = zoom.get_ylim()
    assert full[0] < low < high < full[1]
    fig = time_sequence(events, tmp_path / "server.svg", direction="server", title="acks")
    assert fig.axes[0].get_title() == "acks"
    assert (tmp_path / "server.svg").read_text().startswith("<?xml")
    with pytest.raises(ValueError, match="session 999: no events"):
        time_sequence(events, session=999)


def _x_extent(ax):
    """The smallest and largest time drawn: bars, markers and step lines."""
    xs = [x for line in ax.get_lines() for x in line.get_xdata()]
    for coll in ax.collections:
        xs += [float(x) for x, _ in coll.get_offsets()]
        xs += [float(x) for seg in getattr(coll, "get_segments", list)() for x, _ in seg]
    return min(xs), max(xs)


def test_time_axis_starts_at_the_sessions_first_event(lossy_trace):
    # A REALTIME network's clock counts from its creation, the default
    # network's from the daemon's start-up: the same trace 105.8 s later.
    _, events = lossy_trace
    first = min(e.time_ns for e in events if isinstance(e, pb.Event) and e.session_id)
    last = max(e.time_ns for e in events if isinstance(e, pb.Event))
    late = []
    for e in events:
        if isinstance(e, pb.Event):
            e = pb.Event.FromString(e.SerializeToString())
            e.time_ns += 105_800_000_000
        late.append(e)
    for direction in ("client", "server"):
        ax = time_sequence(late, direction=direction).axes[0]
        low, high = _x_extent(ax)
        assert low >= 0 and high <= (last - first) / 1e9, (direction, low, high)
        assert ax.get_xlim()[0] < 0.1 * (last - first) / 1e9
    assert "first event" in ax.get_xlabel()
    # The same figure as from the original trace, time for time.
    assert _x_extent(time_sequence(events).axes[0]) == _x_extent(time_sequence(late).axes[0])


def test_time_axis_of_a_session_opened_late(client, vnet, tmp_path):
    link = vnet.create_link(delay="10ms", rate="10Mbit")
    vnet.advance("5s")
    session = link.open_session(client={"msl": "10ms"}, server={"msl": "10ms"})
    stream = vnet.events(replay=True, until_destroyed=session)
    assert stream.wait_subscribed(10)
    transfer(session, vnet, 50_000)
    session.close()
    vnet.advance_until_idle()
    events = list(stream)
    assert min(e.time_ns for e in events if isinstance(e, pb.Event)) >= 5_000_000_000
    low, high = _x_extent(time_sequence(events, tmp_path / "late.png").axes[0])
    assert low == 0 and high < 1


def test_several_sessions_need_a_choice(client, vnet):
    link = vnet.create_link(delay="1ms")
    a = link.open_session()
    b = link.open_session()
    stream = vnet.events(replay=True)
    assert stream.wait_subscribed(10)
    vnet.advance("50ms")
    a.close(rst=True)
    b.close(rst=True)
    vnet.advance("10ms")
    events = []
    for item in stream:
        events.append(item)
        if item.kind == pb.EVENT_KIND_SESSION_DESTROYED and item.session_id == b.id:
            stream.cancel()
    with pytest.raises(ValueError, match=rf"sessions \[{a.id}, {b.id}\]; pass session="):
        time_sequence(events)
    time_sequence(events, session=b.id)


def test_missing_extras_are_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    # The package is not on PyPI: the hint names the path of the client.
    with pytest.raises(ImportError, match=r"pip install '\./clients/python\[analysis\]'"):
        events_to_dataframe([])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install '\./clients/python\[plot\]'"):
        time_sequence([])


def _tcpemu_sim() -> pathlib.Path:
    explicit = os.environ.get("TCPEMU_SIM")
    if explicit:
        return pathlib.Path(explicit)
    return tcpemud_path().parent.parent / "engine" / "cli" / "tcpemu-sim"


def test_reads_tcpemu_sim_traces(tmp_path):
    sim = _tcpemu_sim()
    if not os.access(sim, os.X_OK):
        pytest.skip(f"tcpemu-sim not found at {sim} (set TCPEMU_SIM)")
    trace = tmp_path / "sim.jsonl"
    subprocess.run(
        [
            str(sim),
            "--bytes",
            "300KiB",
            "--delay",
            "10ms",
            "--rate",
            "20Mbit",
            "--loss",
            "0.02",
            "--seed",
            "3",
            "--events",
            str(trace),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    events = list(tcpemu.read_jsonl(str(trace)))
    # Each line reads into the same record the client writes (which adds
    # network_id): tcpemu-sim and the client agree on every key.
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(lines) == len(events)
    for line, ev in zip(lines, events):
        back = tcpemu.event_to_dict(ev)
        del back["network_id"]
        assert back == line
    assert any("rel_sack" in line for line in lines)
    df = events_to_dataframe(events)
    assert (df["kind"] == "segment_dropped").any()
    assert (df["reason"] == "retransmit_fast").any() or (df["reason"] == "retransmit_rto").any()
    fig = time_sequence(events, tmp_path / "sim.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(x.startswith("retransmission") for x in labels)
