"""The browser tests' live server (conftest.live_server) must not leak what a dropped
connection leaves behind: a leaked file surfaces as a ResourceWarning, made an error by
the suite's warning filter, in whichever later test the garbage collector runs."""

from __future__ import annotations

import gc
import socket
import struct
import time
import urllib.request
from urllib.parse import urlsplit


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a browser does when it drops a connection."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_reset_connection_leaves_no_static_file_open(live_server):
    address = urlsplit(live_server)
    for _ in range(3):
        sock = socket.create_connection((address.hostname, address.port))
        sock.sendall(b"GET /static/favicon.svg HTTP/1.1\r\nHost: test\r\n\r\n")
        # Bytes after the request put Werkzeug into its "discard the rest" read, which a
        # reset interrupts before it closes the response (the favicon's open file).
        time.sleep(0.01)
        sock.sendall(b"\r\n")
        time.sleep(0.2)
        _reset(sock)
    time.sleep(0.3)
    gc.collect()  # a leaked file warns here, and the warning filter turns it into an error
    with urllib.request.urlopen(f"{live_server}/static/favicon.svg") as response:
        assert response.status == 200
        assert b"<svg" in response.read()
