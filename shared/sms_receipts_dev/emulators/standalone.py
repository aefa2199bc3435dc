"""What every emulator's standalone `main()` shares: the common options and serving until signalled.

    parser = standalone_parser("mns", "Local MNS emulator ...", data_dir_help="persist queues here")
    parser.add_argument("--region", ...)                     # the service's own options
    args = parse_standalone_args(parser, argv)
    return serve_until_signalled(lambda: MnsEmulator(args.host, args.port, faults=fault_config(args), ...))

Common options: --host, --port (0 picks a free port), --data-dir (where the service persists),
--fault-rate, --seed, --slow-delay, --lost-response-hang, --access-key-id and --access-key-secret.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import threading
from collections.abc import Callable

from .credentials import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from .faults import FaultConfig, FaultRates
from .loopback import LoopbackService


def standalone_parser(service: str, description: str, *, data_dir_help: str | None = None) -> argparse.ArgumentParser:
    """The parser of `sms-receipts emulator <service>` with the common options; --data-dir only with its help."""
    parser = argparse.ArgumentParser(prog=f"sms-receipts emulator {service}", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    if data_dir_help is not None:
        parser.add_argument("--data-dir", help=data_dir_help)
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="combined fault rate, spread equally over busy, timeout, slow, drop and lost",
    )
    parser.add_argument("--seed", type=int, help="seed for the fault draws")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="every request waits this long first: a real service's network and server time (benchmarks)",
    )
    parser.add_argument("--slow-delay", type=float, default=1.0, help="seconds a slow response waits")
    parser.add_argument(
        "--lost-response-hang",
        type=float,
        default=0.0,
        help="seconds to hang before dropping an applied request's response",
    )
    parser.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID)
    parser.add_argument("--access-key-secret", default=DEFAULT_ACCESS_KEY_SECRET)
    return parser


def parse_standalone_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse `argv` and check the common options (exits with status 2 on a bad one, like argparse)."""
    args = parser.parse_args(argv)
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate must be between 0 and 1")
    if args.latency_ms and args.fault_rate:
        parser.error("--latency-ms and --fault-rate do not combine (both use the slow response)")
    return args


def fault_config(args: argparse.Namespace) -> FaultConfig:
    """The faults the common options ask for: --fault-rate spread equally over every kind."""
    if args.latency_ms:  # every request slow by the same short wait
        faults = FaultConfig(seed=args.seed, slow_delay=args.latency_ms / 1000)
        faults.set(slow=1.0)
        return faults
    faults = FaultConfig(seed=args.seed, slow_delay=args.slow_delay, lost_response_hang=args.lost_response_hang)
    faults.set(**vars(FaultRates.spread(args.fault_rate)))
    return faults


def serve_until_signalled(build: Callable[[], LoopbackService]) -> int:
    """Build an emulator and serve until SIGINT or SIGTERM; the first stdout line is its `connection_info()`
    as JSON. Returns 0, the process's exit status."""
    stop_requested = threading.Event()
    # Installed before `build()`, so a signal while a data dir opens (or migrates) still ends the process cleanly.
    previous_handlers = {
        sig: signal.signal(sig, lambda *_: stop_requested.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with build() as service:
            gc.freeze()  # the SDKs live as long as the process: spare them full GC passes
            print(json.dumps(service.connection_info(), ensure_ascii=False), flush=True)
            while not stop_requested.wait(0.5):
                pass
    finally:
        for sig, previous in previous_handlers.items():
            signal.signal(sig, previous)
    return 0
