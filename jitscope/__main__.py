"""``python -m jitscope`` and the ``jitscope`` command: Ctrl-C at any moment, start-up
(imports, compiling the module) included, ends with a one-line message, not a traceback."""

import sys


def run() -> int:
    try:
        from jitscope.cli import main

        return main()
    except KeyboardInterrupt:
        print("jitscope: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(run())
