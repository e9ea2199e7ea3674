from __future__ import annotations

import itertools

import pytest

from clearsight.gb28181.ptz import (
    DEFAULT_ADDRESS,
    FocusIris,
    InvalidPtzCommand,
    PresetOp,
    PtzArgumentError,
    PtzCommand,
    PtzCommandKind,
    PtzDirection,
    PtzError,
    decode_ptz,
    encode_ptz,
    preset_call,
    preset_delete,
    preset_set,
    ptz_move,
    ptz_stop,
)


def checksum(hex_text: str) -> int:
    return sum(bytes.fromhex(hex_text)[:7]) % 256


# --- the examples of GB28181.md, each checked against the rule first ---------------------------


@pytest.mark.parametrize("example", ["A50F0100000000B5", "A50F0101FFFF00B4", "A50F01820005003C"])
def test_document_examples_obey_the_checksum_rule(example: str) -> None:
    assert checksum(example) == int(example[14:], 16)


def test_stop_example() -> None:
    assert encode_ptz(ptz_stop()) == "A50F0100000000B5"
    command = decode_ptz("A50F0100000000B5")
    assert command.kind is PtzCommandKind.STOP
    assert command.is_stop
    assert command.directions == PtzDirection(0)
    assert (command.pan, command.tilt, command.zoom) == (0, 0, 0)


def test_right_full_speed_example() -> None:
    assert encode_ptz(ptz_move(1, 0, 0, 0xFF, 0xFF, 0)) == "A50F0101FFFF00B4"
    command = decode_ptz("A50F0101FFFF00B4")
    assert command.kind is PtzCommandKind.MOVE
    assert command.directions == PtzDirection.RIGHT
    assert (command.pan, command.tilt, command.zoom) == (1, 0, 0)
    assert (command.pan_speed, command.tilt_speed, command.zoom_speed) == (255, 255, 0)


def test_call_preset_5_example() -> None:
    assert encode_ptz(preset_call(5)) == "A50F01820005003C"
    command = decode_ptz("A50F01820005003C")
    assert command.kind is PtzCommandKind.PRESET
    assert command.preset_op is PresetOp.CALL
    assert command.preset_number == 5
    assert command.directions == PtzDirection(0)
    assert command.pan_speed == 0


# --- fixtures 46 and 47 --------------------------------------------------------------------------


def test_fixture_46_tilt_up_address_0() -> None:
    command = decode_ptz("A50F000800640020")
    assert command.address == 0
    assert command.kind is PtzCommandKind.MOVE
    assert command.directions == PtzDirection.UP
    assert (command.pan, command.tilt, command.zoom) == (0, 1, 0)
    assert command.tilt_speed == 0x64
    assert command.pan_speed == 0
    assert encode_ptz(command) == "A50F000800640020"
    assert encode_ptz(ptz_move(0, 1, 0, 0, 0x64, 0, address=0)) == "A50F000800640020"


def test_fixture_47_left_speed_0x96() -> None:
    command = decode_ptz("A50F01029600004D")
    assert command.address == 1
    assert command.directions == PtzDirection.LEFT
    assert (command.pan, command.tilt, command.zoom) == (-1, 0, 0)
    assert command.pan_speed == 0x96
    assert command.tilt_speed == 0
    assert encode_ptz(ptz_move(-1, 0, 0, 0x96, 0, 0)) == "A50F01029600004D"


# --- builders -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pan", "tilt", "zoom", "bits"),
    [
        (1, 0, 0, PtzDirection.RIGHT),
        (-1, 0, 0, PtzDirection.LEFT),
        (0, -1, 0, PtzDirection.DOWN),
        (0, 1, 0, PtzDirection.UP),
        (0, 0, 1, PtzDirection.ZOOM_IN),
        (0, 0, -1, PtzDirection.ZOOM_OUT),
        (1, 1, 0, PtzDirection.RIGHT | PtzDirection.UP),
        (-1, -1, -1, PtzDirection.LEFT | PtzDirection.DOWN | PtzDirection.ZOOM_OUT),
    ],
)
def test_move_bits(pan: int, tilt: int, zoom: int, bits: PtzDirection) -> None:
    command = ptz_move(pan, tilt, zoom, 10, 20, 3)
    assert command.instruction == bits.value
    assert command.directions == bits
    assert (command.pan, command.tilt, command.zoom) == (pan, tilt, zoom)


def test_direction_bit_values() -> None:
    assert [d.value for d in PtzDirection] == [0x01, 0x02, 0x04, 0x08, 0x10, 0x20]


def test_zoom_speed_goes_in_the_high_nibble_of_byte_7() -> None:
    hex_text = encode_ptz(ptz_move(0, 0, 1, 0, 0, 0xF))
    assert hex_text[12:14] == "F0"
    assert hex_text == "A50F011000" + "00F0" + f"{checksum(hex_text):02X}"
    assert decode_ptz(hex_text).zoom_speed == 15


def test_move_with_no_direction_is_a_stop() -> None:
    assert ptz_move(0, 0, 0, 0, 0, 0).is_stop
    assert encode_ptz(ptz_move(0, 0, 0, 0, 0, 0)) == encode_ptz(ptz_stop())


def test_every_move_round_trips() -> None:
    for pan, tilt, zoom in itertools.product((-1, 0, 1), repeat=3):
        for speeds in ((0, 0, 0), (1, 2, 3), (255, 128, 15)):
            command = ptz_move(pan, tilt, zoom, *speeds)
            hex_text = encode_ptz(command)
            assert len(hex_text) == 16
            assert hex_text == hex_text.upper()
            assert int(hex_text[14:], 16) == checksum(hex_text)
            assert decode_ptz(hex_text) == command
            assert decode_ptz(hex_text.lower()) == command


@pytest.mark.parametrize(
    ("build", "op", "code"),
    [
        (preset_set, PresetOp.SET, 0x81),
        (preset_call, PresetOp.CALL, 0x82),
        (preset_delete, PresetOp.DELETE, 0x83),
    ],
)
@pytest.mark.parametrize("n", [1, 5, 128, 255])
def test_presets(build: object, op: PresetOp, code: int, n: int) -> None:
    assert callable(build)
    command = build(n)
    assert isinstance(command, PtzCommand)
    hex_text = encode_ptz(command)
    assert hex_text[6:8] == f"{code:02X}"
    assert hex_text[8:10] == "00"
    assert hex_text[10:12] == f"{n:02X}"
    decoded = decode_ptz(hex_text)
    assert decoded.preset_op is op
    assert decoded.preset_number == n
    assert decoded.kind is PtzCommandKind.PRESET


def test_preset_set_and_delete_hex() -> None:
    assert encode_ptz(preset_set(1)) == "A50F018100010037"
    assert encode_ptz(preset_delete(255)) == "A50F018300FF0037"


@pytest.mark.parametrize("n", [0, 256, -1])
def test_preset_out_of_range(n: int) -> None:
    for build in (preset_set, preset_call, preset_delete):
        with pytest.raises(PtzArgumentError):
            build(n)


@pytest.mark.parametrize(
    "args",
    [
        (2, 0, 0, 0, 0, 0),
        (0, -2, 0, 0, 0, 0),
        (0, 0, 5, 0, 0, 0),
        (1, 0, 0, 256, 0, 0),
        (1, 0, 0, -1, 0, 0),
        (0, 1, 0, 0, 300, 0),
        (0, 0, 1, 0, 0, 16),
    ],
)
def test_move_arguments_out_of_range(args: tuple[int, int, int, int, int, int]) -> None:
    with pytest.raises(PtzArgumentError):
        ptz_move(*args)


def test_address() -> None:
    assert DEFAULT_ADDRESS == 1
    hex_text = encode_ptz(ptz_stop(address=0x2A))
    assert hex_text[4:6] == "2A"
    assert decode_ptz(hex_text).address == 0x2A
    # addresses above 255 use the low nibble of byte 7 (12-bit address)
    wide = ptz_move(0, 0, 1, 0, 0, 0x3, address=0xABC)
    wide_hex = encode_ptz(wide)
    assert wide_hex[4:6] == "BC"
    assert wide_hex[12:14] == "3A"
    assert decode_ptz(wide_hex) == wide
    with pytest.raises(PtzArgumentError):
        ptz_stop(address=0x1000)


def test_command_fields_are_validated() -> None:
    with pytest.raises(PtzArgumentError):
        PtzCommand(0x100)
    with pytest.raises(PtzArgumentError):
        PtzCommand(0, data1=256)
    with pytest.raises(PtzArgumentError):
        PtzCommand(0, data3=16)
    assert issubclass(PtzArgumentError, PtzError)
    assert issubclass(InvalidPtzCommand, ValueError)


# --- decoding other instruction families ---------------------------------------------------------


def _with_checksum(first_seven: str) -> str:
    return first_seven + f"{sum(bytes.fromhex(first_seven)) % 256:02X}"


def test_focus_iris() -> None:
    command = decode_ptz(_with_checksum("A50F0148001000"))
    assert command.kind is PtzCommandKind.FOCUS_IRIS
    assert command.focus_iris == FocusIris.IRIS_CLOSE
    assert command.directions == PtzDirection(0)
    assert decode_ptz(_with_checksum("A50F0141200000")).focus_iris == FocusIris.FOCUS_FAR
    assert decode_ptz(_with_checksum("A50F0101200000")).focus_iris == FocusIris(0)


@pytest.mark.parametrize(
    ("instruction", "kind"),
    [
        (0x84, PtzCommandKind.CRUISE),
        (0x88, PtzCommandKind.CRUISE),
        (0x89, PtzCommandKind.SCAN),
        (0x8A, PtzCommandKind.SCAN),
        (0x8C, PtzCommandKind.AUXILIARY),
        (0x8D, PtzCommandKind.AUXILIARY),
        (0x80, PtzCommandKind.UNKNOWN),
        (0xFF, PtzCommandKind.UNKNOWN),
    ],
)
def test_other_kinds(instruction: int, kind: PtzCommandKind) -> None:
    command = decode_ptz(_with_checksum(f"A50F01{instruction:02X}010200"))
    assert command.kind is kind
    assert command.preset_op is None
    assert command.preset_number is None
    assert command.pan_speed == 0


def test_decode_tolerates_case_and_whitespace() -> None:
    assert decode_ptz(" a50f01820005003c\r\n") == preset_call(5)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "characters"),
        ("A50F0100000000B", "characters"),
        ("A50F0100000000B500", "characters"),
        ("A50F01000000 0B5", "hex"),
        ("A50F0100000000BG", "hex"),
        ("Z50F0100000000B5", "hex"),
        ("B50F0100000000C5", "leading code"),
        ("A51F0100000000C5", "combination code"),
        ("A50F0100000000B6", "checksum"),
        ("A50F0101FFFF00B5", "checksum"),
        ("\u0661\u0662A50F0100000000", "hex"),
    ],
)
def test_decode_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidPtzCommand) as info:
        decode_ptz(text)
    assert reason in info.value.reason
    assert info.value.value == text
