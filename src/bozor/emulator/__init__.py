"""A Telegram Bot API emulator for tests, benchmarks and demos (see docs/emulator.md)."""

from .driver import EmulatorDriver, EmulatorError
from .server import Emulator, FaultSpec, run_emulator

__all__ = ["Emulator", "EmulatorDriver", "EmulatorError", "FaultSpec", "run_emulator"]
