"""The blocking client, generated from tcpemu._async by tools/gen_sync.py;
the public module is tcpemu.client."""
