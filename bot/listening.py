"""Binding the port a command serves on, before it says where it listens.

`convbot dev` and `convbot emulator` print an address people open or point convbot at, so the
port is bound first (with --port 0, the one chosen is then known) and a port that cannot be had
ends in one line, not a traceback.
"""

from __future__ import annotations

import socket
import sys


def bind_or_say(program: str, host: str, port: int, hint: str) -> socket.socket | None:
    """A TCP socket bound to `host:port`; None after one line on stderr saying why not."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = error.strerror or type(error).__name__
        print(f"{program}: cannot listen on {host}:{port} ({reason}); {hint}", file=sys.stderr)
        return None
    return sock
