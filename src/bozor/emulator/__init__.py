"""A Telegram Bot API emulator for tests, benchmarks and demos (see docs/emulator.md)."""

from .driver import EmulatorDriver, EmulatorError
from .server import Emulator, run_emulator

__all__ = ["Emulator", "EmulatorDriver", "EmulatorError", "run_emulator"]
