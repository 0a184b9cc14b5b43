"""Runs packetdrill scripts against tcpemu's engine (or the kernel) and
tabulates the results; see docs/conformance.md."""
