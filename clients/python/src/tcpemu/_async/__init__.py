"""The asyncio client, written once: tools/gen_sync.py makes tcpemu._sync
(the blocking client) from it. The public modules are tcpemu.aio and
tcpemu.client."""
