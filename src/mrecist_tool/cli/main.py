"""``mrecist`` command line: one module per subcommand, each cheap to import.

Each subcommand module in this package defines ``register(subparsers) -> None`` (which adds its
parser and sets ``func``) and does its heavy imports inside the function that runs it, so that
``mrecist assess`` does not pay for napari, pandas or pydicom.  ``main(argv=None) -> int`` returns
the exit status, so tests call it directly without a subprocess.

Exit status: 0 success; 1 when some input was refused (the rest is still processed); 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..exitcodes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

# Order here is the order in `mrecist --help`.
SUBCOMMANDS = (
    "assess",
    "validate",
    "explain",
    "scan",
    "sample_data",
    "analyze",
    "margin",
    "export",
    "import_",
    "pacs",
    "view",
)



class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mrecist",
        description="mRECIST / RECIST 1.1 response and local tumour progression after ablation.",
    )
    parser.add_argument("--version", action="version", version=f"mrecist-tool {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.{name}":
                continue  # subcommand not part of this installation
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help / usage errors
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
