from __future__ import annotations

import contextlib
import logging
import random
from datetime import UTC, datetime

import pytest

from clearsight.gb28181.manscdp import (
    AlarmNotification,
    AlarmStatus,
    BodyCharset,
    CatalogEvent,
    CatalogItem,
    CmdType,
    ControlCommand,
    ManscdpError,
    Preset,
    RecordItem,
    RootKind,
    build_alarm_notify,
    build_catalog_notify,
    build_catalog_response,
    build_device_control,
    build_device_control_ptz,
    build_device_info_response,
    build_device_status_response,
    build_keepalive,
    build_preset_query_response,
    build_query,
    build_record_info_response,
    build_response_result,
    declared_encoding,
    decode_body,
    parse_alarm_notify,
    parse_catalog_response,
    parse_device_control,
    parse_device_info,
    parse_device_status,
    parse_keepalive,
    parse_manscdp,
    parse_mobile_position,
    parse_preset_query_response,
    parse_query,
    parse_record_info_response,
    parse_response_result,
)
from clearsight.gb28181.manscdp_message import MAX_BODY_BYTES
from clearsight.gb28181.ptz import InvalidPtzCommand, PresetOp, encode_ptz, preset_call

DEVICE = "34020000001320000001"
CHANNEL = "34020000001310000001"
CHARSETS = [BodyCharset.GB2312, BodyCharset.GB18030, BodyCharset.UTF8]

KEEPALIVE = (
    "<Notify>\n<CmdType>Keepalive</CmdType>\n<SN>43</SN>\n<DeviceID>34020000001320000001</DeviceID>\n"
    "<Status>OK</Status>\n</Notify>\n"
)


def body(
    text: str, declaration: str = '<?xml version="1.0" encoding="GB2312"?>\n', codec: str = "gb18030"
) -> bytes:
    return (declaration + text).encode(codec)


# --- charset handling ----------------------------------------------------------------------------

NAME = "合肥市政务区路口球机"
NAME_XML = f"<Query><Name>{NAME}</Name></Query>"


@pytest.mark.parametrize("declared", ["GB2312", "gb2312", "GB18030", "GBK"])
def test_decode_gb_family(declared: str) -> None:
    raw = body(NAME_XML, f'<?xml version="1.0" encoding="{declared}"?>')
    assert NAME in decode_body(raw)


def test_decode_gb18030_beyond_gb2312() -> None:
    text = "<Query><Name>𠀀€鎔</Name></Query>"
    assert "𠀀€鎔" in decode_body(body(text, '<?xml version="1.0" encoding="GB18030"?>'))


def test_decode_utf8_declared() -> None:
    raw = body(NAME_XML, '<?xml version="1.0" encoding="UTF-8"?>', "utf-8")
    assert NAME in decode_body(raw)


def test_decode_without_declaration_tries_utf8_then_gb() -> None:
    assert NAME in decode_body(NAME_XML.encode("utf-8"))
    assert NAME in decode_body(NAME_XML.encode("gb18030"))
    assert NAME in decode_body(body(NAME_XML, '<?xml version="1.0"?>\n'))


def test_decode_declared_gb2312_but_utf8(caplog: pytest.LogCaptureFixture) -> None:
    raw = body(NAME_XML, codec="utf-8")
    with caplog.at_level(logging.INFO):
        assert NAME in decode_body(raw)
    assert "UTF-8" in caplog.text


def test_decode_declared_utf8_but_gb(caplog: pytest.LogCaptureFixture) -> None:
    raw = body(NAME_XML, '<?xml version="1.0" encoding="UTF-8"?>', "gb18030")
    with caplog.at_level(logging.INFO):
        assert NAME in decode_body(raw)
    assert "gb18030" in caplog.text


def test_decode_single_gb_character_stays_gb() -> None:
    # GB2312 "预" (D4 A4) happens to be a valid UTF-8 sequence (U+0524); it must still decode as GB.
    raw = body("<Query><Name>预置点</Name></Query>")
    assert "预置点" in decode_body(raw)


def test_decode_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    raw = b'<?xml version="1.0" encoding="UTF-8"?><Query><Name>\xff\xfe\x80\x81\xff</Name></Query>'
    with caplog.at_level(logging.WARNING):
        text = decode_body(raw)
    assert "<Query>" in text
    assert "\ufffd" in text or "<Name>" in text
    assert "undecodable" in caplog.text
    assert decode_body(b"\x81") == "\ufffd"  # invalid as UTF-8 and as GB18030


def test_decode_bom() -> None:
    assert decode_body(b"\xef\xbb\xbf" + body(NAME_XML, codec="utf-8")).startswith("<?xml")
    utf16 = b"\xff\xfe" + ('<?xml version="1.0"?>' + NAME_XML).encode("utf-16-le")
    assert NAME in decode_body(utf16)


def test_decode_unknown_declared_encoding(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert NAME in decode_body(body(NAME_XML, '<?xml version="1.0" encoding="x-klingon"?>', "utf-8"))
    assert "x-klingon" in caplog.text


def test_declared_encoding() -> None:
    assert declared_encoding(b'<?xml version="1.0" encoding="GB2312"?><a/>') == "GB2312"
    assert declared_encoding(b"<?xml version='1.0' encoding='gb2312' standalone='yes' ?>") == "gb2312"
    assert declared_encoding(b'  \r\n<?xml version="1.0" encoding = "UTF-8" ?>') == "UTF-8"
    assert declared_encoding(b'<?xml version="1.0"?>') is None
    assert declared_encoding(b"<Query/>") is None
    assert declared_encoding(b'<Query><?xml version="1.0" encoding="GB2312"?></Query>') is None


def test_body_charset_codecs() -> None:
    assert BodyCharset.GB2312.codec == "gb18030"
    assert BodyCharset.GB18030.codec == "gb18030"
    assert BodyCharset.UTF8.codec == "utf-8"


# --- envelope ------------------------------------------------------------------------------------


def test_parse_keepalive_envelope() -> None:
    msg = parse_manscdp(body(KEEPALIVE))
    assert msg.root_kind is RootKind.NOTIFY
    assert msg.cmd_type == "Keepalive"
    assert msg.cmd is CmdType.KEEPALIVE
    assert msg.sn == 43
    assert msg.device_id == DEVICE
    assert msg.text("Status") == "OK"
    assert msg.text("Missing") is None
    assert msg.root.tag == "Notify"
    assert not msg.repaired


@pytest.mark.parametrize(
    "declaration",
    [
        "",
        '<?xml version="1.0"?>',
        '<?xml version="1.0" encoding="GB2312" standalone="yes" ?>',
        '<?xml version="1.0" encoding="GB2312" ?>\r\n',
        '  \r\n<?xml version="1.0" encoding="GB2312"?>',  # whitespace before the declaration
        '<?xml version="1.0" encoding="UTF-8"?>',  # declaration says UTF-8, bytes are GB (ASCII here)
        '<?xml version="1.0"?><?xml version="1.0" encoding="GB2312"?>',  # stray second declaration
        '\ufeff<?xml version="1.0"?>',
    ],
)
def test_declaration_variants(declaration: str) -> None:
    msg = parse_manscdp(body(KEEPALIVE, declaration, "utf-8"))
    assert (msg.cmd_type, msg.sn, msg.device_id) == ("Keepalive", 43, DEVICE)


@pytest.mark.parametrize("kind", list(RootKind))
def test_root_kinds(kind: RootKind) -> None:
    text = f"<{kind.value}><CmdType>X</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID></{kind.value}>"
    assert parse_manscdp(body(text)).root_kind is kind


def test_root_kind_case_insensitive() -> None:
    text = f"<notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID></notify>"
    assert parse_manscdp(body(text)).root_kind is RootKind.NOTIFY


def test_unknown_cmd_type_is_kept() -> None:
    text = f"<Notify><CmdType>VendorThing</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID></Notify>"
    msg = parse_manscdp(body(text))
    assert msg.cmd_type == "VendorThing"
    assert msg.cmd is None


def test_whitespace_inside_fields() -> None:
    text = f"<Query>\n<CmdType> Catalog\n</CmdType><SN>\n 7 </SN><DeviceID> {DEVICE} </DeviceID></Query>"
    msg = parse_manscdp(body(text))
    assert (msg.cmd_type, msg.sn, msg.device_id) == ("Catalog", 7, DEVICE)


@pytest.mark.parametrize(
    ("tail", "expected_change"),
    [
        ("garbage after the root", "after the root"),
        ("</Notify>", "after the root"),
        ("<Notify><CmdType>x</CmdType></Notify>", "after the root"),
        ("\x00\x00", "control characters"),
    ],
)
def test_garbage_after_root_is_dropped(
    tail: str, expected_change: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        msg = parse_manscdp(body(KEEPALIVE + tail))
    assert msg.repaired
    assert (msg.cmd_type, msg.sn, msg.device_id) == ("Keepalive", 43, DEVICE)
    assert expected_change in caplog.text
    assert DEVICE in caplog.text


def test_stray_close_tag_is_dropped() -> None:
    text = (
        f"<Response><CmdType>Catalog</CmdType><SN>5</SN><DeviceID>{DEVICE}</DeviceID><SumNum>1</SumNum>"
        f'<DeviceList Num="1"><Item><DeviceID>{CHANNEL}</DeviceID><Name>a</Name></Item></Item>'
        "</DeviceList></Response>"
    )
    msg = parse_manscdp(body(text))
    assert msg.repaired
    chunk = parse_catalog_response(msg)
    assert [item.name for item in chunk.items] == ["a"]


def test_unclosed_inner_element_is_closed_by_its_parent() -> None:
    text = (
        f"<Response><CmdType>Catalog</CmdType><SN>5</SN><DeviceID>{DEVICE}</DeviceID><SumNum>1</SumNum>"
        f'<DeviceList Num="1"><Item><DeviceID>{CHANNEL}</DeviceID><Name>a</Item></DeviceList></Response>'
    )
    chunk = parse_catalog_response(parse_manscdp(body(text)))
    assert chunk.items[0].device_id == CHANNEL
    assert chunk.items[0].name == "a"


def test_bare_ampersand_and_lt_in_text_are_repaired() -> None:
    text = (
        f"<Response><CmdType>Catalog</CmdType><SN>5</SN><DeviceID>{DEVICE}</DeviceID><SumNum>1</SumNum>"
        f'<DeviceList Num="1"><Item><DeviceID>{CHANNEL}</DeviceID><Name>A&B <1></Name>'
        "<Address>x &amp; y &#65; &#x42;</Address></Item></DeviceList></Response>"
    )
    msg = parse_manscdp(body(text))
    assert msg.repaired
    item = parse_catalog_response(msg).items[0]
    assert item.name == "A&B <1>"
    assert item.address == "x & y A B"


def test_text_before_the_root_is_dropped() -> None:
    msg = parse_manscdp(b"junk " + KEEPALIVE.encode())
    assert msg.repaired
    assert msg.sn == 43


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b'<?xml version="1.0"?>', "empty"),
        (b"Catalog 88884 34020000001320000003 \r\n", "malformed"),
        (b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN>", "malformed"),  # truncated
        (b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>1</Devi", "malformed"),
        (b"<Foo><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>1</DeviceID></Foo>", "root element"),
        (b"<Notify><SN>1</SN><DeviceID>1</DeviceID></Notify>", "CmdType"),
        (b"<Notify><CmdType></CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>", "CmdType"),
        (b"<Notify><CmdType>Keepalive</CmdType><DeviceID>1</DeviceID></Notify>", "SN"),
        (b"<Notify><CmdType>Keepalive</CmdType><SN>abc</SN><DeviceID>1</DeviceID></Notify>", "SN"),
        (b"<Notify><CmdType>Keepalive</CmdType><SN>-1</SN><DeviceID>1</DeviceID></Notify>", "SN"),
        (b"<Notify><CmdType>Keepalive</CmdType><SN>1.5</SN><DeviceID>1</DeviceID></Notify>", "SN"),
        (
            b"<Notify><CmdType>Keepalive</CmdType><SN>"
            + b"9" * 5000
            + b"</SN><DeviceID>1</DeviceID></Notify>",
            "SN",
        ),
        (b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN></Notify>", "DeviceID"),
        (b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID> </DeviceID></Notify>", "DeviceID"),
        (b"<Notify/>", "CmdType"),
        (b"<a:Notify><CmdType>x</CmdType></a:Notify>", "malformed"),
        ("<Notify><CmdType>心跳</CmdType><SN>１２</SN><DeviceID>1</DeviceID></Notify>".encode(), "SN"),
        (b"\x00\x01\x02", "malformed"),
        (b"<" * 1000, "malformed"),
        (b"<a>" * 100 + b"x", "malformed"),
    ],
)
def test_malformed_bodies(raw: bytes, reason: str) -> None:
    with pytest.raises(ManscdpError) as info:
        parse_manscdp(raw)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


def test_deep_nesting_is_refused_by_the_repair() -> None:
    raw = b"<Notify>" + b"<a>" * 200 + b"</b>" + b"</a>" * 200 + b"</Notify>"
    with pytest.raises(ManscdpError):
        parse_manscdp(raw)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Notify><CmdType>&lol3;</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Notify [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Notify><CmdType>&xxe;</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>"""


@pytest.mark.parametrize(
    "raw",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b"<!doctype Notify><Notify><CmdType>x</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>",
        b"<Notify><!ENTITY x 'y'><CmdType>x</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>",
        BILLION_LAUGHS.decode().encode("utf-16"),
    ],
)
def test_dtd_and_entities_are_refused(raw: bytes) -> None:
    with pytest.raises(ManscdpError, match=r"DOCTYPE|ENTITY"):
        parse_manscdp(raw)


def test_undefined_entity_is_refused() -> None:
    with pytest.raises(ManscdpError):
        parse_manscdp(b"<Notify><CmdType>&lol;</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>")


def test_oversized_body_is_refused() -> None:
    with pytest.raises(ManscdpError, match="exceeds"):
        parse_manscdp(b" " * (MAX_BODY_BYTES + 1))


# --- fuzz: only ManscdpError may escape ----------------------------------------------------------


def _only_manscdp_error(raw: bytes) -> None:
    with contextlib.suppress(ManscdpError):
        parse_manscdp(raw)


def _catalog_bytes(charset: BodyCharset = BodyCharset.GB2312) -> bytes:
    items = [
        CatalogItem(
            device_id=f"3402000000131000000{i}", name=f"球机{i}&<'\">", civil_code="340200", status="ON"
        )
        for i in range(3)
    ]
    return build_catalog_response(9, DEVICE, 3, items, charset=charset)


def test_fuzz_random_bytes() -> None:
    rng = random.Random(28181)
    for _ in range(3000):
        _only_manscdp_error(rng.randbytes(rng.randrange(0, 200)))


def test_fuzz_random_markup() -> None:
    rng = random.Random(1)
    alphabet = [
        "<",
        ">",
        "/",
        "&",
        ";",
        "?",
        "!",
        "--",
        "[",
        "]",
        "Notify",
        "CmdType",
        "SN",
        "1",
        " ",
        '"',
        "\x00",
    ]
    for _ in range(3000):
        _only_manscdp_error("".join(rng.choice(alphabet) for _ in range(rng.randrange(40))).encode())


@pytest.mark.parametrize("charset", CHARSETS)
def test_fuzz_every_truncation(charset: BodyCharset) -> None:
    raw = _catalog_bytes(charset)
    for end in range(len(raw)):
        _only_manscdp_error(raw[:end])
    assert parse_manscdp(raw).sn == 9


def test_fuzz_byte_mutations() -> None:
    rng = random.Random(7)
    raw = bytearray(_catalog_bytes())
    for _ in range(3000):
        mutated = bytearray(raw)
        for _ in range(rng.randrange(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        _only_manscdp_error(bytes(mutated))


def test_fuzz_spliced_bodies() -> None:
    rng = random.Random(3)
    sources = [_catalog_bytes(), body(KEEPALIVE), BILLION_LAUGHS, b"<Notify>" * 10]
    for _ in range(2000):
        a, b = rng.choice(sources), rng.choice(sources)
        _only_manscdp_error(a[: rng.randrange(len(a) + 1)] + b[rng.randrange(len(b) + 1) :])


# --- builders: declaration, charset, escaping ----------------------------------------------------


def test_builder_declaration_and_charset() -> None:
    raw = build_keepalive(1, DEVICE)
    assert raw.startswith(b'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>')
    utf8 = build_keepalive(1, DEVICE, charset=BodyCharset.UTF8)
    assert utf8.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    gb18030 = build_keepalive(1, DEVICE, charset=BodyCharset.GB18030)
    assert gb18030.startswith(b'<?xml version="1.0" encoding="GB18030"?>')


def test_builder_gb2312_bytes_are_gb() -> None:
    item = CatalogItem(device_id=CHANNEL, name="测试")
    raw = build_catalog_response(1, DEVICE, 1, [item])
    assert "测试".encode("gb18030") in raw
    assert "测试".encode() not in raw
    raw_utf8 = build_catalog_response(1, DEVICE, 1, [item], charset=BodyCharset.UTF8)
    assert "测试".encode() in raw_utf8


def test_builder_escapes_and_strips_invalid_characters() -> None:
    item = CatalogItem(device_id=CHANNEL, name="<b>&amp;\"'\x00\x07ok\ud800", address="]]>")
    raw = build_catalog_response(1, DEVICE, 1, [item])
    msg = parse_manscdp(raw)
    assert not msg.repaired
    parsed = parse_catalog_response(msg).items[0]
    assert parsed.name == "<b>&amp;\"'ok"
    assert parsed.address == "]]>"


def test_builder_rejects_negative_sn() -> None:
    with pytest.raises(ValueError):
        build_keepalive(-1, DEVICE)


# --- keepalive -----------------------------------------------------------------------------------


@pytest.mark.parametrize("charset", CHARSETS)
def test_keepalive_round_trip(charset: BodyCharset) -> None:
    keepalive = parse_keepalive(parse_manscdp(build_keepalive(77, DEVICE, charset=charset)))
    assert (keepalive.device_id, keepalive.sn, keepalive.status) == (DEVICE, 77, "OK")
    assert keepalive.is_ok
    assert keepalive.faulty_device_ids == ()


def test_keepalive_with_faults() -> None:
    raw = build_keepalive(5, DEVICE, "ERROR", faulty_device_ids=[CHANNEL, "34020000001310000002"])
    keepalive = parse_keepalive(parse_manscdp(raw))
    assert not keepalive.is_ok
    assert keepalive.faulty_device_ids == (CHANNEL, "34020000001310000002")


def test_typed_reader_checks_the_cmd_type() -> None:
    msg = parse_manscdp(build_keepalive(1, DEVICE))
    with pytest.raises(ManscdpError, match="Catalog"):
        parse_catalog_response(msg)
    with pytest.raises(ManscdpError):
        parse_device_info(msg)
    with pytest.raises(ManscdpError):
        parse_device_control(msg)
    with pytest.raises(ManscdpError, match="Query"):
        parse_query(msg)
    with pytest.raises(ManscdpError, match="Response"):
        parse_response_result(msg)
    query = parse_manscdp(build_query("Keepalive", 1, DEVICE))
    with pytest.raises(ManscdpError, match="Notify"):
        parse_keepalive(query)


# --- catalog -------------------------------------------------------------------------------------

FULL_ITEM = CatalogItem(
    device_id=CHANNEL,
    name="合肥市蜀山区长江西路与潜山路交口",
    manufacturer="海康威视",
    model="DS-2DE7430IW",
    owner="蜀山分局",
    civil_code="34010400",
    address="长江西路 & 潜山路 <东北角>",
    parental=False,
    parent_id="34020000002160000001",
    business_group_id="34020000002150000001",
    safety_way=0,
    register_way=1,
    secrecy=0,
    status="ON",
    longitude=117.227211,
    latitude=31.820612,
    ptz_type=1,
)
GROUP_ITEM = CatalogItem(
    device_id="34020000002160000001",
    name="蜀山分局",
    parent_id="34020000002150000001",
    business_group_id="34020000002150000001",
)
MINIMAL_ITEM = CatalogItem(device_id="34020000001310000009")


@pytest.mark.parametrize("charset", CHARSETS)
def test_catalog_round_trip(charset: BodyCharset) -> None:
    items = [FULL_ITEM, GROUP_ITEM, MINIMAL_ITEM]
    raw = build_catalog_response(10021, DEVICE, 12, items, charset=charset)
    assert declared_encoding(raw) == charset.value
    msg = parse_manscdp(raw)
    assert (msg.root_kind, msg.cmd, msg.sn, msg.device_id) == (
        RootKind.RESPONSE,
        CmdType.CATALOG,
        10021,
        DEVICE,
    )
    chunk = parse_catalog_response(msg)
    assert (chunk.device_id, chunk.sn, chunk.sum_num, chunk.declared_num) == (DEVICE, 10021, 12, 3)
    assert chunk.items == items


def test_catalog_empty_strings_survive() -> None:
    item = CatalogItem(device_id=CHANNEL, name="", status="")
    parsed = parse_catalog_response(parse_manscdp(build_catalog_response(1, DEVICE, 1, [item]))).items[0]
    assert parsed.name == ""
    assert parsed.status == ""
    assert parsed.manufacturer is None


def test_catalog_empty() -> None:
    chunk = parse_catalog_response(parse_manscdp(build_catalog_response(3, DEVICE, 0, [])))
    assert chunk.sum_num == 0
    assert chunk.items == []
    assert chunk.declared_num == 0


@pytest.mark.parametrize("charset", CHARSETS)
def test_catalog_notify_round_trip(charset: BodyCharset) -> None:
    items = [
        CatalogItem(device_id=CHANNEL, event=CatalogEvent.OFF),
        CatalogItem(device_id="34020000001310000002", name="新增球机", status="ON", event=CatalogEvent.ADD),
        CatalogItem(device_id="34020000001310000003", event=CatalogEvent.DEL),
    ]
    msg = parse_manscdp(build_catalog_notify(8, DEVICE, items, charset=charset))
    assert msg.root_kind is RootKind.NOTIFY
    chunk = parse_catalog_response(msg)
    assert chunk.sum_num == 3
    assert chunk.items == items
    assert [item.event for item in chunk.items] == ["OFF", "ADD", "DEL"]


def test_catalog_notify_needs_events() -> None:
    with pytest.raises(ValueError, match="event"):
        build_catalog_notify(1, DEVICE, [CatalogItem(device_id=CHANNEL)])


def _catalog_text(items_xml: str, sum_num: str | None = "1") -> bytes:
    sum_xml = f"<SumNum>{sum_num}</SumNum>" if sum_num is not None else ""
    return body(
        f"<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID>{sum_xml}"
        f'<DeviceList Num="2">{items_xml}</DeviceList></Response>'
    )


def test_catalog_tolerance() -> None:
    items_xml = (
        f"<Item><DeviceID>{CHANNEL}</DeviceID><Event>update</Event><Longitude>0</Longitude>"
        "<Latitude>abc</Latitude><Parental>2</Parental><Secrecy>x</Secrecy><PTZType>3</PTZType>"
        "<Status>ONLINE</Status></Item>"
        "<Item><Name>no id</Name></Item>"
        "<Item><DeviceID>34020000001310000002</DeviceID><Longitude>200</Longitude><Latitude>-91</Latitude>"
        "<Status>OFFLINE</Status><Info><PTZType>1</PTZType></Info><PTZType>2</PTZType></Item>"
    )
    chunk = parse_catalog_response(parse_manscdp(_catalog_text(items_xml, sum_num=None)))
    assert chunk.sum_num == 2  # missing SumNum: the number of items
    assert chunk.declared_num == 2
    first, second = chunk.items
    assert first.event == "UPDATE" == CatalogEvent.UPDATE
    assert (first.longitude, first.latitude, first.parental, first.secrecy) == (None, None, None, None)
    assert first.ptz_type == 3
    assert first.is_online is True
    assert (second.longitude, second.latitude) == (None, None)
    assert second.ptz_type == 1
    assert second.is_online is False


@pytest.mark.parametrize(
    ("status", "online"),
    [("ON", True), ("on", True), ("OK", True), ("OFF", False), ("Offline", False), ("", None), (None, None)],
)
def test_catalog_item_is_online(status: str | None, online: bool | None) -> None:
    assert CatalogItem(device_id=CHANNEL, status=status).is_online is online


@pytest.mark.parametrize("sum_num", ["", "many", "-3"])
def test_catalog_bad_sum_num(sum_num: str) -> None:
    chunk = parse_catalog_response(
        parse_manscdp(_catalog_text(f"<Item><DeviceID>{CHANNEL}</DeviceID></Item>", sum_num))
    )
    assert chunk.sum_num == 1


def test_catalog_without_device_list() -> None:
    raw = body(
        f"<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID><SumNum>4</SumNum></Response>"
    )
    chunk = parse_catalog_response(parse_manscdp(raw))
    assert (chunk.sum_num, chunk.items, chunk.declared_num) == (4, [], None)


def test_catalog_query_is_not_a_response() -> None:
    with pytest.raises(ManscdpError):
        parse_catalog_response(parse_manscdp(build_query(CmdType.CATALOG, 1, DEVICE)))


# --- DeviceInfo / DeviceStatus -------------------------------------------------------------------


@pytest.mark.parametrize("charset", CHARSETS)
def test_device_info_round_trip(charset: BodyCharset) -> None:
    raw = build_device_info_response(
        19,
        DEVICE,
        device_name="路口硬盘录像机",
        manufacturer="大华",
        model="DH-NVR4832",
        firmware="2.623.0000000.17.R,2019-01-19",
        channel=32,
        device_type="NVR",
        max_camera=32,
        max_alarm=16,
        charset=charset,
    )
    info = parse_device_info(parse_manscdp(raw))
    assert (info.device_id, info.sn, info.result, info.ok) == (DEVICE, 19, "OK", True)
    assert (info.device_name, info.manufacturer, info.model) == ("路口硬盘录像机", "大华", "DH-NVR4832")
    assert info.firmware == "2.623.0000000.17.R,2019-01-19"
    assert (info.channel, info.device_type, info.max_camera, info.max_alarm) == (32, "NVR", 32, 16)


def test_device_info_error() -> None:
    raw = build_device_info_response(
        1, DEVICE, device_name="", manufacturer="", model="", firmware="", ok=False
    )
    info = parse_device_info(parse_manscdp(raw))
    assert info.result == "ERROR"
    assert not info.ok
    assert info.channel is None


@pytest.mark.parametrize("charset", CHARSETS)
def test_device_status_round_trip(charset: BodyCharset) -> None:
    alarms = [AlarmStatus("34020000001340000001"), AlarmStatus("34020000001340000002", "ALARM")]
    raw = build_device_status_response(
        10,
        DEVICE,
        online=True,
        status_ok=True,
        encode=True,
        record=False,
        device_time="2024-05-17T14:24:54",
        alarms=alarms,
        charset=charset,
    )
    status = parse_device_status(parse_manscdp(raw))
    assert (status.device_id, status.sn, status.result) == (DEVICE, 10, "OK")
    assert (status.online, status.is_online, status.status, status.is_ok) == ("ONLINE", True, "OK", True)
    assert (status.encode, status.encoding, status.record, status.recording) == ("ON", True, "OFF", False)
    assert status.device_time == "2024-05-17T14:24:54"
    assert status.alarms == [
        AlarmStatus("34020000001340000001", "ONDUTY"),
        AlarmStatus("34020000001340000002", "ALARM"),
    ]


def test_device_status_minimal_and_datetime() -> None:
    raw = build_device_status_response(
        2,
        DEVICE,
        online=False,
        status_ok=False,
        reason="磁盘故障",
        device_time=datetime(2025, 4, 22, 11, 14, 23, 999, tzinfo=UTC),
    )
    status = parse_device_status(parse_manscdp(raw))
    assert (status.is_online, status.is_ok, status.reason) == (False, False, "磁盘故障")
    assert status.device_time == "2025-04-22T11:14:23"
    assert (status.encoding, status.recording, status.alarms) == (None, None, [])


# --- Query / DeviceControl / Result --------------------------------------------------------------


@pytest.mark.parametrize("charset", CHARSETS)
def test_query_round_trip(charset: BodyCharset) -> None:
    extra = {
        "StartTime": "2024-05-04T00:00:00",
        "EndTime": "2024-05-04T23:59:59",
        "Type": "all",
        "Name": "测试",
    }
    query = parse_query(parse_manscdp(build_query(CmdType.RECORD_INFO, 18, CHANNEL, extra, charset=charset)))
    assert (query.cmd_type, query.cmd, query.sn, query.device_id) == (
        "RecordInfo",
        CmdType.RECORD_INFO,
        18,
        CHANNEL,
    )
    assert query.params == extra


@pytest.mark.parametrize("cmd", ["Catalog", "DeviceInfo", "DeviceStatus", "PresetQuery", "ConfigDownload"])
def test_simple_queries(cmd: str) -> None:
    query = parse_query(parse_manscdp(build_query(cmd, 1, DEVICE)))
    assert (query.cmd_type, query.params) == (cmd, {})
    assert query.cmd is CmdType(cmd)


def test_query_unknown_cmd() -> None:
    assert parse_query(parse_manscdp(build_query("Vendor", 1, DEVICE))).cmd is None


@pytest.mark.parametrize("charset", CHARSETS)
def test_ptz_control_round_trip(charset: BodyCharset) -> None:
    hex_text = encode_ptz(preset_call(5))
    raw = build_device_control_ptz(22, CHANNEL, hex_text.lower(), control_priority=5, charset=charset)
    msg = parse_manscdp(raw)
    assert (msg.root_kind, msg.cmd) == (RootKind.CONTROL, CmdType.DEVICE_CONTROL)
    control = parse_device_control(msg)
    assert (control.device_id, control.sn, control.ptz_cmd) == (CHANNEL, 22, hex_text)
    assert control.ptz is not None
    assert control.ptz.preset_op is PresetOp.CALL
    assert control.control_priority == 5
    assert control.extra == {}
    assert not control.tele_boot and not control.iframe


def test_ptz_control_validates_hex() -> None:
    with pytest.raises(InvalidPtzCommand):
        build_device_control_ptz(1, CHANNEL, "A50F0100000000B6")


def test_undecodable_ptz_is_kept_raw(caplog: pytest.LogCaptureFixture) -> None:
    raw = body(
        f"<Control><CmdType>DeviceControl</CmdType><SN>1</SN><DeviceID>{CHANNEL}</DeviceID><PTZCmd>zz</PTZCmd></Control>"
    )
    with caplog.at_level(logging.WARNING):
        control = parse_device_control(parse_manscdp(raw))
    assert (control.ptz_cmd, control.ptz) == ("zz", None)
    assert CHANNEL in caplog.text


@pytest.mark.parametrize(
    ("command", "value", "check"),
    [
        (ControlCommand.TELE_BOOT, "Boot", lambda c: c.tele_boot),
        (ControlCommand.RECORD, "Record", lambda c: c.record_cmd == "Record"),
        (ControlCommand.GUARD, "SetGuard", lambda c: c.guard_cmd == "SetGuard"),
        (ControlCommand.ALARM, "ResetAlarm", lambda c: c.alarm_cmd == "ResetAlarm"),
        (ControlCommand.IFRAME, "Send", lambda c: c.iframe),
    ],
)
def test_other_control_commands(command: ControlCommand, value: str, check: object) -> None:
    control = parse_device_control(parse_manscdp(build_device_control(3, CHANNEL, command, value)))
    assert callable(check)
    assert check(control)
    assert control.ptz_cmd is None and control.ptz is None
    assert control.extra == {}


def test_control_aliases_and_extras() -> None:
    raw = body(
        f"<Control><CmdType>DeviceControl</CmdType><SN>1</SN><DeviceID>{CHANNEL}</DeviceID>"
        "<IFrameCmd>Send</IFrameCmd><HomePosition><Enabled>1</Enabled></HomePosition>"
        "<VendorCmd>x</VendorCmd></Control>"
    )
    control = parse_device_control(parse_manscdp(raw))
    assert control.iframe
    assert control.extra == {"VendorCmd": "x"}


@pytest.mark.parametrize("ok", [True, False])
def test_response_result_round_trip(ok: bool) -> None:
    result = parse_response_result(
        parse_manscdp(build_response_result(CmdType.DEVICE_CONTROL, 4, CHANNEL, ok))
    )
    assert (result.cmd_type, result.sn, result.device_id) == ("DeviceControl", 4, CHANNEL)
    assert result.result == ("OK" if ok else "ERROR")
    assert result.ok is ok


# --- RecordInfo / PresetQuery / Alarm / MobilePosition -------------------------------------------


@pytest.mark.parametrize("charset", CHARSETS)
def test_record_info_round_trip(charset: BodyCharset) -> None:
    items = [
        RecordItem(
            device_id=CHANNEL,
            start_time="2024-05-04T14:43:16",
            end_time="2024-05-04T15:16:26",
            name="路口",
            file_path="1714804996_1714806986",
            address="Address 1",
            secrecy=0,
            type="time",
            file_size=263094272,
        ),
        RecordItem(device_id=CHANNEL, start_time="2024-05-04T15:16:26", end_time="2024-05-04T15:49:37"),
    ]
    raw = build_record_info_response(18, CHANNEL, 134, items, name="路口", charset=charset)
    chunk = parse_record_info_response(parse_manscdp(raw))
    assert (chunk.device_id, chunk.sn, chunk.sum_num, chunk.name, chunk.declared_num) == (
        CHANNEL,
        18,
        134,
        "路口",
        2,
    )
    assert chunk.items == items


@pytest.mark.parametrize("charset", CHARSETS)
def test_preset_round_trip(charset: BodyCharset) -> None:
    presets = [Preset("1", "预置点 1"), Preset("2", ""), Preset("255", "门口")]
    preset_list = parse_preset_query_response(
        parse_manscdp(build_preset_query_response(24, CHANNEL, presets, charset=charset))
    )
    assert (preset_list.device_id, preset_list.sn, preset_list.sum_num) == (CHANNEL, 24, 3)
    assert preset_list.presets == presets
    assert [p.number for p in preset_list.presets] == [1, 2, 255]
    assert Preset("x").number is None


@pytest.mark.parametrize("charset", CHARSETS)
def test_alarm_round_trip(charset: BodyCharset) -> None:
    raw = build_alarm_notify(
        99,
        CHANNEL,
        priority=1,
        method=5,
        time="2023-04-27T18:01:58",
        description="视频动检",
        alarm_type=2,
        longitude=116.336,
        latitude=39.942,
        charset=charset,
    )
    alarm = parse_alarm_notify(parse_manscdp(raw))
    assert alarm == AlarmNotification(
        CHANNEL, 99, 1, 5, "2023-04-27T18:01:58", "视频动检", 116.336, 39.942, 2
    )


def test_alarm_minimal() -> None:
    raw = build_alarm_notify(1, CHANNEL, priority=4, method=2, time="2025-04-22T11:26:02")
    alarm = parse_alarm_notify(parse_manscdp(raw))
    assert (alarm.description, alarm.longitude, alarm.alarm_type) == (None, None, None)


def test_mobile_position_2022_layout() -> None:
    raw = body(
        f"<Notify><CmdType>MobilePosition</CmdType><SN>5</SN><DeviceID>{DEVICE}</DeviceID>"
        '<SumNum>2</SumNum><DeviceList Num="2">'
        f"<Item><DeviceID>{CHANNEL}</DeviceID><CaptureTime>2026-05-31T14:57:23</CaptureTime>"
        "<Longitude>121.448204</Longitude><Latitude>31.2</Latitude><Speed>3.5</Speed></Item>"
        "<Item><Time>2026-05-31T14:57:24</Time><Longitude>x</Longitude><Latitude>0</Latitude></Item>"
        "</DeviceList></Notify>"
    )
    notify = parse_mobile_position(parse_manscdp(raw))
    first, second = notify.fixes
    assert (first.device_id, first.time, first.longitude, first.latitude, first.speed) == (
        CHANNEL,
        "2026-05-31T14:57:23",
        121.448204,
        31.2,
        3.5,
    )
    assert (second.device_id, second.time, second.longitude, second.latitude) == (
        DEVICE,
        "2026-05-31T14:57:24",
        None,
        None,
    )
