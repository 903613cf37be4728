"""``python -m clearance.reference``: serve the reference SIMULATOR until Ctrl-C.

The same as ``clearance reference serve``, without the CLI's dependencies:
prints the base URL on the first line of stdout, then serves.
"""

from __future__ import annotations

import argparse

from clearance.reference.server import ReferenceServer


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m clearance.reference",
        description="Serve the reference provider (a simulator, not a model) on loopback.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sloppy-rate", type=float, default=0.3)
    args = parser.parse_args(argv)
    server = ReferenceServer(port=args.port, seed=args.seed, sloppy_rate=args.sloppy_rate)
    server.start()
    print(server.base_url, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
