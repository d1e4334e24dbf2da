"""Command line: the TUI by default, and headless commands for scripts, tests and pipes.

    jitscope [PATH | --wasm PATH]          open the TUI on a module (the bundled build by default)
    jitscope repl [--wasm PATH]            a REPL on stdin/stdout with , meta-commands
    jitscope run FILE [--jit MODE]         evaluate a file, print each expression's value
    jitscope tour [--wasm PATH]            the whole story in one run: interpret, generate,
                                           link step by step, run JIT code, compare times
    jitscope bench [...]                   interpreter vs JIT vs C, side by side
    jitscope serve [--host H] [--port N] [PATH]
                                           the TUI in a browser, one session per tab
    jitscope snapshot -o OUT [FILE ...]    bake linked JIT code into one module (resume with
                                           `jitscope OUT`)

Nothing below imports this package: it depends on the front ends and layers it starts.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from jitscope import __version__
from jitscope.debugger import DEFAULT_AUTO_THRESHOLD, parse_auto_threshold
from jitscope.runtime.session import DEFAULT_TIME_LIMIT, ModuleLoadError

__all__ = ["main"]

SUBCOMMANDS = ("repl", "run", "tour", "bench", "snapshot", "serve")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["help"]:  # `jitscope help [SUBCOMMAND]`, not a module called "help"
        topic = argv[1] if len(argv) > 1 and argv[1] in SUBCOMMANDS else "tui"
        _parser(topic).print_help()
        return 0
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
    else:
        command, rest = "tui", argv
    parser = _parser(command)
    args = parser.parse_args(rest)
    if command == "tui" and args.path is not None:  # `jitscope PATH` is `jitscope --wasm PATH`
        if args.wasm is not None:
            parser.error("give the module either as PATH or with --wasm, not both")
        args.wasm = args.path
    try:
        if command == "bench":
            from jitscope.bench import run_bench

            return run_bench(args)
        if command == "snapshot":
            from jitscope.cli.snapshot import run

            return run(args)
        if command == "serve":
            from jitscope.cli.serve import run as serve

            return serve(args)
        from jitscope.cli.run import open_session

        # A program reads files beside it; the REPL and the TUI in the current directory.
        files = args.file.resolve().parent if command == "run" else Path.cwd()
        session = open_session(args.wasm, args.time_limit or None, files, args.writable)
    except ModuleLoadError as e:
        print(f"jitscope: {e.path}: {e.problem}", file=sys.stderr)
        return 2
    for warning in session.warnings:
        print(f"jitscope: {session.path}: warning: {warning}", file=sys.stderr)
    with session:
        if command == "repl":
            from jitscope.cli.repl import Repl

            # Bytes that are not UTF-8 reach the reader as they are, which says where they are.
            if isinstance(sys.stdin, io.TextIOWrapper):
                sys.stdin.reconfigure(errors="surrogateescape")
            history = None
            if sys.stdin.isatty() and sys.stdout.isatty():  # the TUI's history, and readline
                from jitscope.debugger.history import History, default_history_path

                history = History(default_history_path())
            return Repl(session, sys.stdout, history=history).run(sys.stdin)
        if command == "tour":
            from jitscope.cli.tour import run_tour

            return run_tour(session, sys.stdout)
        if command == "run":
            from jitscope.cli.run import run_file

            return run_file(session, args.file, args.jit, args.threshold, sys.stdout, args.code)
        from jitscope.tui.app import JitscopeApp

        app = JitscopeApp(session)
        app.run()
        return app.return_code or 0  # non-zero when the app ended in an error


def threshold_argument(text: str) -> int:
    """``--threshold N`` as argparse wants it: a usage error names the range."""
    try:
        return parse_auto_threshold(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("usage: ,auto N | off ")) from None


def add_threshold_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threshold",
        type=threshold_argument,
        default=DEFAULT_AUTO_THRESHOLD,
        help="interpreted calls before auto mode compiles a function "
        f"(default {DEFAULT_AUTO_THRESHOLD:,})",
    )


def add_time_limit_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help=f"per evaluation (default {DEFAULT_TIME_LIMIT:g}; 0 for none)",
    )


def add_writable_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--writable",
        action="store_true",
        help="let the program create, write and delete files in its directory (the run's "
        "file's, else the current one); without it files are read-only",
    )


def _parser(command: str) -> argparse.ArgumentParser:
    if command == "tui":
        p = argparse.ArgumentParser(
            prog="jitscope",
            description="A terminal debugger for run-time wasm code generation. "
            "Without a subcommand, opens the TUI. Subcommands: repl, run, tour, bench, snapshot, "
            "serve "
            "(see jitscope help SUBCOMMAND).",
        )
        p.add_argument(
            "path", nargs="?", type=Path, help="interplib.wasm to open (default: the bundled build)"
        )
        p.add_argument("--version", action="version", version=f"jitscope {__version__}")
    elif command == "bench":
        from jitscope.bench import add_arguments

        p = argparse.ArgumentParser(
            prog="jitscope bench", description="Interpreter vs JIT vs C reference."
        )
        add_arguments(p)
        return p
    elif command == "snapshot":
        from jitscope.cli.snapshot import add_arguments as add_snapshot_arguments

        p = argparse.ArgumentParser(
            prog="jitscope snapshot",
            description="Evaluate FILEs, JIT and link, then write one module with the linked "
            "JIT code, table, memory and globals baked in (static late linking).",
        )
        add_snapshot_arguments(p)
        return p
    elif command == "serve":
        from jitscope.cli.serve import add_arguments as add_serve_arguments

        p = argparse.ArgumentParser(
            prog="jitscope serve",
            description="Serve the TUI to a browser (textual-serve): one jitscope session per "
            "tab, on this machine only unless --host says otherwise.",
        )
        add_serve_arguments(p)
        return p
    elif command == "tour":
        p = argparse.ArgumentParser(
            prog="jitscope tour",
            description="The story in one headless run: fib interpreted, a JIT module "
            "generated and linked step by step (each step's real effect), fib on JIT code, "
            "the times side by side.",
        )
    elif command == "repl":
        p = argparse.ArgumentParser(
            prog="jitscope repl",
            description="A Scheme REPL on stdin/stdout with , meta-commands (,help); works "
            "in a pipe.",
        )
    else:
        p = argparse.ArgumentParser(
            prog="jitscope run",
            description="Evaluate a Scheme file and print each expression's value.",
        )
        p.add_argument("file", type=Path, help="Scheme source to evaluate")
        p.add_argument(
            "--jit",
            choices=("never", "eager", "auto"),
            default="never",
            help="never: interpret; eager: compile every function before it "
            "first runs; auto: tier up hot functions mid-run",
        )
        add_threshold_argument(p)
        p.add_argument(
            "--code",
            action="append",
            default=[],
            metavar="NAME",
            help="after the run, print NAME's JIT code: its wasm with the x86-64 under each "
            "instruction (repeatable)",
        )
    p.add_argument("--wasm", type=Path, default=None, help="another build of interplib.wasm")
    add_time_limit_argument(p)
    add_writable_argument(p)
    return p
