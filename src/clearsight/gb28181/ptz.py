"""PTZ front-end commands (the ``<PTZCmd>`` of a DeviceControl), GB/T 28181-2016 appendix A.3.

A command is 8 bytes written as 16 hex characters::

    byte 1  0xA5                       leading code
    byte 2  0x0F                       version 0 (high nibble) + nibble checksum (A + 5 + 0) mod 16
    byte 3  address, low 8 bits
    byte 4  instruction
    byte 5  data1 (pan speed / preset-, focus-speed)
    byte 6  data2 (tilt speed / preset number / iris speed)
    byte 7  data3 in the high nibble (zoom speed), address bits 8-11 in the low nibble
    byte 8  checksum = sum of bytes 1-7 mod 256
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag

logger = logging.getLogger(__name__)

PTZ_COMMAND_BYTES = 8  # GB/T 28181-2016 A.3.1: a PTZ command is 8 bytes
PTZ_HEX_LENGTH = 2 * PTZ_COMMAND_BYTES  # sent as hex text in <PTZCmd>
LEADING_CODE = 0xA5  # GB/T 28181-2016 A.3.1: byte 1 is always A5H
COMBINATION_CODE_1 = 0x0F  # GB/T 28181-2016 A.3.1: version 0, nibble checksum (0xA + 0x5 + 0x0) mod 16
DEFAULT_ADDRESS = 0x01  # address used by most platforms; devices generally ignore it
MAX_ADDRESS = 0xFFF  # GB/T 28181-2016 A.3.1: 12-bit address (byte 3 + low nibble of byte 7)
MAX_SPEED = 0xFF  # GB/T 28181-2016 A.3.2: pan and tilt speeds 00H-FFH
MAX_ZOOM_SPEED = 0x0F  # GB/T 28181-2016 A.3.2: zoom speed is a 4-bit value (byte 7 high nibble)
MIN_PRESET = 1  # GB/T 28181-2016 A.3.4: preset numbers 01H-FFH
MAX_PRESET = 0xFF
PTZ_INSTRUCTION_MASK = 0xC0  # GB/T 28181-2016 A.3.2: PTZ instructions have bits 7-6 = 00
FI_INSTRUCTION_BASE = 0x40  # GB/T 28181-2016 A.3.3: focus/iris instructions are 0100xxxx
FI_INSTRUCTION_MASK = 0xF0


class PtzError(ValueError):
    """Base class of PTZ command errors."""


class InvalidPtzCommand(PtzError):
    """A PTZCmd string that cannot be decoded."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"invalid PTZCmd {value!r}: {reason}")
        self.value = value
        self.reason = reason


class PtzArgumentError(PtzError):
    """A builder argument out of the range the standard allows."""


class PtzDirection(IntFlag):
    """Bits of a PTZ instruction byte (GB/T 28181-2016 A.3.2); no bit set means stop."""

    RIGHT = 0x01
    LEFT = 0x02
    DOWN = 0x04
    UP = 0x08
    ZOOM_IN = 0x10
    ZOOM_OUT = 0x20


class FocusIris(IntFlag):
    """Bits of a focus/iris (FI) instruction byte 0100xxxx (GB/T 28181-2016 A.3.3)."""

    FOCUS_FAR = 0x01
    FOCUS_NEAR = 0x02
    IRIS_OPEN = 0x04
    IRIS_CLOSE = 0x08


class PtzInstruction(IntEnum):
    """Instruction bytes with a fixed meaning (GB/T 28181-2016 A.3.4-A.3.7)."""

    STOP = 0x00
    PRESET_SET = 0x81
    PRESET_CALL = 0x82
    PRESET_DELETE = 0x83
    CRUISE_ADD_POINT = 0x84
    CRUISE_DELETE_POINT = 0x85
    CRUISE_SET_SPEED = 0x86
    CRUISE_SET_DWELL = 0x87
    CRUISE_START = 0x88
    SCAN = 0x89
    SCAN_SET_SPEED = 0x8A
    AUX_ON = 0x8C
    AUX_OFF = 0x8D


class PresetOp(Enum):
    """What a preset instruction does."""

    SET = PtzInstruction.PRESET_SET
    CALL = PtzInstruction.PRESET_CALL
    DELETE = PtzInstruction.PRESET_DELETE


class PtzCommandKind(Enum):
    """The instruction family of a command."""

    STOP = "stop"  # instruction 00H: stop pan, tilt and zoom
    MOVE = "move"  # pan/tilt/zoom bits set
    FOCUS_IRIS = "focus_iris"
    PRESET = "preset"
    CRUISE = "cruise"
    SCAN = "scan"
    AUXILIARY = "auxiliary"
    UNKNOWN = "unknown"


_PRESET = (PtzInstruction.PRESET_SET, PtzInstruction.PRESET_CALL, PtzInstruction.PRESET_DELETE)
_CRUISE = range(PtzInstruction.CRUISE_ADD_POINT, PtzInstruction.CRUISE_START + 1)
_SCAN = (PtzInstruction.SCAN, PtzInstruction.SCAN_SET_SPEED)
_AUX = (PtzInstruction.AUX_ON, PtzInstruction.AUX_OFF)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise PtzArgumentError(f"{name}={value} outside {low}-{high}")


@dataclass(frozen=True, slots=True)
class PtzCommand:
    """One decoded PTZ command: instruction byte, data bytes and address."""

    instruction: int
    data1: int = 0
    data2: int = 0
    data3: int = 0  # 4 bits: zoom speed for PTZ instructions
    address: int = DEFAULT_ADDRESS

    def __post_init__(self) -> None:
        _check_range("instruction", self.instruction, 0, 0xFF)
        _check_range("data1", self.data1, 0, 0xFF)
        _check_range("data2", self.data2, 0, 0xFF)
        _check_range("data3", self.data3, 0, MAX_ZOOM_SPEED)
        _check_range("address", self.address, 0, MAX_ADDRESS)

    @property
    def kind(self) -> PtzCommandKind:
        code = self.instruction
        if code == PtzInstruction.STOP:
            return PtzCommandKind.STOP
        if code & PTZ_INSTRUCTION_MASK == 0:
            return PtzCommandKind.MOVE
        if code & FI_INSTRUCTION_MASK == FI_INSTRUCTION_BASE:
            return PtzCommandKind.FOCUS_IRIS
        if code in _PRESET:
            return PtzCommandKind.PRESET
        if code in _CRUISE:
            return PtzCommandKind.CRUISE
        if code in _SCAN:
            return PtzCommandKind.SCAN
        if code in _AUX:
            return PtzCommandKind.AUXILIARY
        return PtzCommandKind.UNKNOWN

    @property
    def is_stop(self) -> bool:
        """True for the all-stop instruction 00H."""
        return self.instruction == PtzInstruction.STOP

    @property
    def directions(self) -> PtzDirection:
        """Movement and zoom bits of a move instruction (empty for stop and other kinds)."""
        if self.kind is not PtzCommandKind.MOVE:
            return PtzDirection(0)
        return PtzDirection(self.instruction)

    @property
    def pan(self) -> int:
        """-1 left, 0 none, +1 right (0 when both bits are set, which is contradictory)."""
        return _axis(self.directions, PtzDirection.RIGHT, PtzDirection.LEFT)

    @property
    def tilt(self) -> int:
        """-1 down, 0 none, +1 up."""
        return _axis(self.directions, PtzDirection.UP, PtzDirection.DOWN)

    @property
    def zoom(self) -> int:
        """-1 zoom out, 0 none, +1 zoom in."""
        return _axis(self.directions, PtzDirection.ZOOM_IN, PtzDirection.ZOOM_OUT)

    @property
    def pan_speed(self) -> int:
        """data1 of a move (0 for other kinds)."""
        return self.data1 if self.kind is PtzCommandKind.MOVE else 0

    @property
    def tilt_speed(self) -> int:
        """data2 of a move (0 for other kinds)."""
        return self.data2 if self.kind is PtzCommandKind.MOVE else 0

    @property
    def zoom_speed(self) -> int:
        """data3 (4 bits) of a move (0 for other kinds)."""
        return self.data3 if self.kind is PtzCommandKind.MOVE else 0

    @property
    def focus_iris(self) -> FocusIris:
        """Focus/iris bits of an FI instruction (empty otherwise)."""
        if self.kind is not PtzCommandKind.FOCUS_IRIS:
            return FocusIris(0)
        return FocusIris(self.instruction & ~FI_INSTRUCTION_MASK)

    @property
    def preset_op(self) -> PresetOp | None:
        return PresetOp(self.instruction) if self.kind is PtzCommandKind.PRESET else None

    @property
    def preset_number(self) -> int | None:
        return self.data2 if self.kind is PtzCommandKind.PRESET else None


def _axis(bits: PtzDirection, positive: PtzDirection, negative: PtzDirection) -> int:
    return int(positive in bits) - int(negative in bits)


def _direction_bits(value: int, positive: PtzDirection, negative: PtzDirection, name: str) -> PtzDirection:
    if value not in (-1, 0, 1):
        raise PtzArgumentError(f"{name}={value}, expected -1, 0 or +1")
    return positive if value > 0 else negative if value < 0 else PtzDirection(0)


def ptz_move(
    pan: int,
    tilt: int,
    zoom: int,
    speed_pan: int,
    speed_tilt: int,
    speed_zoom: int,
    *,
    address: int = DEFAULT_ADDRESS,
) -> PtzCommand:
    """Move: pan -1 left/+1 right, tilt -1 down/+1 up, zoom -1 out/+1 in; speeds 0-255 (zoom 0-15).

    ``ptz_move(0, 0, 0, ...)`` is a stop.
    """
    _check_range("speed_pan", speed_pan, 0, MAX_SPEED)
    _check_range("speed_tilt", speed_tilt, 0, MAX_SPEED)
    _check_range("speed_zoom", speed_zoom, 0, MAX_ZOOM_SPEED)
    bits = (
        _direction_bits(pan, PtzDirection.RIGHT, PtzDirection.LEFT, "pan")
        | _direction_bits(tilt, PtzDirection.UP, PtzDirection.DOWN, "tilt")
        | _direction_bits(zoom, PtzDirection.ZOOM_IN, PtzDirection.ZOOM_OUT, "zoom")
    )
    return PtzCommand(int(bits), speed_pan, speed_tilt, speed_zoom, address)


def ptz_stop(*, address: int = DEFAULT_ADDRESS) -> PtzCommand:
    """Stop every movement (instruction 00H)."""
    return PtzCommand(PtzInstruction.STOP, address=address)


def _preset(op: PresetOp, n: int, address: int) -> PtzCommand:
    _check_range("preset", n, MIN_PRESET, MAX_PRESET)
    return PtzCommand(op.value, 0, n, 0, address)


def preset_set(n: int, *, address: int = DEFAULT_ADDRESS) -> PtzCommand:
    """Store the current position as preset ``n`` (1-255)."""
    return _preset(PresetOp.SET, n, address)


def preset_call(n: int, *, address: int = DEFAULT_ADDRESS) -> PtzCommand:
    """Go to preset ``n`` (1-255)."""
    return _preset(PresetOp.CALL, n, address)


def preset_delete(n: int, *, address: int = DEFAULT_ADDRESS) -> PtzCommand:
    """Delete preset ``n`` (1-255)."""
    return _preset(PresetOp.DELETE, n, address)


def _bytes_of(cmd: PtzCommand) -> bytes:
    head = bytes(
        (
            LEADING_CODE,
            COMBINATION_CODE_1,
            cmd.address & 0xFF,
            cmd.instruction,
            cmd.data1,
            cmd.data2,
            (cmd.data3 << 4) | (cmd.address >> 8),
        )
    )
    return head + bytes((sum(head) % 256,))


def encode_ptz(cmd: PtzCommand) -> str:
    """The 16 upper-case hex characters of ``cmd``, checksum included."""
    return _bytes_of(cmd).hex().upper()


def decode_ptz(hex_text: str) -> PtzCommand:
    """Decode a PTZCmd (case-insensitive, surrounding whitespace ignored).

    Raises :class:`InvalidPtzCommand` on a wrong length, non-hex text, a wrong leading/combination code
    or a checksum mismatch.
    """
    text = hex_text.strip()
    if len(text) != PTZ_HEX_LENGTH:
        raise InvalidPtzCommand(hex_text, f"{len(text)} characters, expected {PTZ_HEX_LENGTH}")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InvalidPtzCommand(hex_text, "not hexadecimal") from None
    if len(raw) != PTZ_COMMAND_BYTES:  # fromhex skips embedded spaces
        raise InvalidPtzCommand(hex_text, "not hexadecimal")
    if raw[0] != LEADING_CODE:
        raise InvalidPtzCommand(hex_text, f"leading code {raw[0]:02X}, expected {LEADING_CODE:02X}")
    if raw[1] != COMBINATION_CODE_1:
        raise InvalidPtzCommand(hex_text, f"combination code {raw[1]:02X}, expected {COMBINATION_CODE_1:02X}")
    expected = sum(raw[:7]) % 256
    if raw[7] != expected:
        raise InvalidPtzCommand(hex_text, f"checksum {raw[7]:02X}, expected {expected:02X}")
    return PtzCommand(
        instruction=raw[3],
        data1=raw[4],
        data2=raw[5],
        data3=raw[6] >> 4,
        address=raw[2] | ((raw[6] & 0x0F) << 8),
    )
