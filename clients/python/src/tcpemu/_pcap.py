"""Writing what ExportPcap streams: the chunks of a pcap file, to a path or a
binary file. Shared by the blocking and the asyncio clients."""

from __future__ import annotations

import os
from typing import IO, Iterable, Union

PcapDest = Union[str, "os.PathLike[str]", IO[bytes]]

# The first four bytes of a pcap file with nanosecond timestamps, as written
# on a little-endian machine (0xa1b23c4d).
MAGIC_NS = b"\x4d\x3c\xb2\xa1"


def write(chunks: Iterable[bytes], dest: PcapDest) -> int:
    """Writes the chunks to `dest` (a path, created or truncated, or a file
    opened for binary writing); returns the number of bytes written."""
    if isinstance(dest, (str, os.PathLike)):
        with open(dest, "wb") as f:
            return write(chunks, f)
    n = 0
    for chunk in chunks:
        dest.write(chunk)
        n += len(chunk)
    dest.flush()
    return n
