"""``jitscope serve``: the TUI in a browser, through textual-serve (it bundles xterm.js, so
it needs no internet).  Each browser tab runs its own ``jitscope`` process, so its own
session; the server listens on loopback unless told otherwise."""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("module", nargs="?", type=Path, help="interplib.wasm to open in each tab")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from textual_serve.server import Server

    if args.module is not None and not args.module.is_file():
        print(f"jitscope: {args.module}: no such file", file=sys.stderr)
        return 2
    if not 0 < args.port < 65536:
        print(f"jitscope: --port {args.port}: from 1 to 65535", file=sys.stderr)
        return 2
    if not _loopback(args.host):
        print(
            f"jitscope: warning: listening on {args.host}: anyone who can reach it gets a "
            "Scheme REPL on this machine",
            file=sys.stderr,
        )
    module = [str(args.module.resolve())] if args.module is not None else []
    command = shlex.join([sys.executable, "-m", "jitscope", *module])
    Server(command, host=args.host, port=args.port, title="jitscope").serve()
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
