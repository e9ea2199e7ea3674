"""`clearsight sim`: arguments, and the line commands it reads on standard input."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from clearsight.gb28181.ids import GbId, InvalidGbId
from clearsight.sim.simulator import Simulator, SimulatorConfig, stdout_events

logger = logging.getLogger(__name__)

COMMANDS_HELP = """commands (one per line on standard input):
  status                          print each device's registration state
  keepalive off|on DEVICE_ID|all  stop or resume keepalives (the platform then marks it offline)
  unregister DEVICE_ID|all        REGISTER with Expires: 0
  register DEVICE_ID|all          register again
  event ON|OFF|ADD|DEL|UPDATE DEVICE_ID CHANNEL_ID...   push a catalog change notification
  media off|on CHANNEL_ID         off: answer live-view INVITEs but send no RTP
  invite-reject CHANNEL_ID STATUS|off   answer live-view INVITEs with STATUS (e.g. 486)
  bye CHANNEL_ID                  hang up every live stream of the channel (BYE from the device)
  media drop CHANNEL_ID           close the TCP media connections of the channel's streams
  payload CHANNEL_ID ps|ts|h264|h264-sprop   what the channel's next live streams carry (default ps;
                                  h264-sprop: SPS/PPS only in the SDP answer)
  recordinfo-drop N...            lose these chunks (1 = first) of the next RecordInfo answer
  control-reject STATUS|off       answer playback control (MANSRTSP INFO) with STATUS (e.g. 488)
  media-status in-dialog|out-of-dialog   where MediaStatus 121 goes when a playback or download ends
  quit                            unregister nobody, close and exit"""


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _gb_id(text: str) -> str:
    try:
        return GbId.parse(text).value
    except InvalidGbId as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", type=_host_port, required=True, help="platform SIP HOST:PORT")
    parser.add_argument("--platform-id", type=_gb_id, required=True, help="platform's 20-digit ID")
    parser.add_argument("--password", required=True, help="device password for digest authentication")
    parser.add_argument("--devices", type=int, default=1, help="how many devices (default 1)")
    parser.add_argument("--channels", type=int, default=2, help="channels per device (default 2)")
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    parser.add_argument("--base-device-id", type=_gb_id, default="34020000001320000001",
                        help="first device's ID; the others add 1 to its serial each")
    parser.add_argument("--base-channel-id", type=_gb_id, default="34020000001310000001",
                        help="channel IDs are derived from this one")
    parser.add_argument("--local-host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--expires", type=int, default=3600, help="registration Expires (default 3600)")
    parser.add_argument("--keepalive-interval", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--catalog-chunk", type=int, default=20, help="catalog items per MESSAGE")
    parser.add_argument("--no-stdin", action="store_true", help="do not read commands on standard input")
    parser.add_argument("--replay", action="store_true",
                        help="load mode: every live stream replays one clip encoded once (cheap; hundreds of streams)")
    parser.add_argument("--record-history", type=float, default=0.0, metavar="SECONDS",
                        help="pretend every channel recorded this long before the simulator started (default 0: "
                             "recordings cover the time since it started); played back on request")
    parser.add_argument("--record-segment", type=float, default=600.0, metavar="SECONDS",
                        help="length of each simulated recording file in RecordInfo answers (default 600)")
    parser.add_argument("--record-chunk", type=int, default=10, help="RecordInfo items per MESSAGE (default 10)")


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    host, port = args.platform
    return SimulatorConfig(
        platform_host=host, platform_port=port, platform_id=args.platform_id, password=args.password,
        devices=args.devices, channels=args.channels, base_device_id=args.base_device_id,
        base_channel_id=args.base_channel_id, transport=args.transport.upper(), local_host=args.local_host,
        expires=args.expires, keepalive_interval=args.keepalive_interval, catalog_chunk=args.catalog_chunk,
        replay=args.replay, record_history=args.record_history, record_segment=args.record_segment,
        record_chunk=args.record_chunk)


async def run_sim(args: argparse.Namespace) -> None:
    simulator = Simulator(config_from_args(args), events=stdout_events)
    await simulator.start()
    try:
        registered = await simulator.register_all()
        stdout_events({"event": "ready", "registered": registered, "devices": len(simulator.devices)})
        simulator.start_keepalives()
        if args.no_stdin:
            await asyncio.Event().wait()
        else:
            await _command_loop(simulator)
    finally:
        await simulator.close()


async def _read_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _command_loop(simulator: Simulator) -> None:
    reader = await _read_lines()
    while True:
        raw = await reader.readline()
        if not raw:
            # Standard input closed: keep simulating until killed.
            await asyncio.Event().wait()
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        if line == "quit":
            return
        try:
            await execute(simulator, line.split())
        except CommandError as exc:
            stdout_events({"event": "error", "command": line, "detail": str(exc)})


class CommandError(Exception):
    pass


def _devices(simulator: Simulator, which: str) -> list[str]:
    if which == "all":
        return list(simulator.devices)
    if which not in simulator.devices:
        raise CommandError(f"no device {which}")
    return [which]


async def execute(simulator: Simulator, words: list[str]) -> None:
    """Carry out one command line (see COMMANDS_HELP)."""
    match words:
        case ["help"]:
            stdout_events({"event": "help", "text": COMMANDS_HELP})
        case ["status"]:
            stdout_events({"event": "status", "devices": {
                d.device_id: {"registered": d.registered, "keepalive": d.keepalive_enabled}
                for d in simulator.devices.values()}})
        case ["keepalive", ("on" | "off") as state, which]:
            for device_id in _devices(simulator, which):
                simulator.devices[device_id].keepalive_enabled = state == "on"
            stdout_events({"event": "keepalive", "state": state, "devices": which})
        case ["unregister", which]:
            for device_id in _devices(simulator, which):
                await simulator.register(simulator.devices[device_id], expires=0)
        case ["register", which]:
            for device_id in _devices(simulator, which):
                await simulator.register(simulator.devices[device_id])
        case ["event", kind, device_id, *channel_ids] if kind.upper() in (
                "ON", "OFF", "ADD", "DEL", "UPDATE", "VLOST", "DEFECT"):
            device = simulator.devices.get(device_id)
            if device is None:
                raise CommandError(f"no device {device_id}")
            await simulator.send_catalog_events(device, kind.upper(), channel_ids)
        case ["payload", channel_id, ("ps" | "ts" | "h264" | "h264-sprop") as kind]:
            simulator.live.payload(channel_id, kind)
            stdout_events({"event": "payload", "channel": channel_id, "payload": kind})
        case ["recordinfo-drop", *numbers] if numbers and all(n.isdigit() and int(n) > 0 for n in numbers):
            simulator.record_info_drops = {int(n) for n in numbers}
            stdout_events({"event": "recordinfo_drop", "chunks": sorted(simulator.record_info_drops)})
        case ["control-reject", status]:
            if status != "off" and not (status.isdigit() and 300 <= int(status) <= 699):
                raise CommandError("STATUS must be 300-699 or off")
            simulator.playback.control_rejection = None if status == "off" else int(status)
            stdout_events({"event": "control_reject", "status": status})
        case ["media-status", ("in-dialog" | "out-of-dialog") as where]:
            simulator.playback.notify_in_dialog = where == "in-dialog"
            stdout_events({"event": "media_status", "where": where})
        case ["bye", channel_id]:
            count = await simulator.live.bye(channel_id)
            stdout_events({"event": "bye_sent", "channel": channel_id, "streams": count})
        case ["media", "drop", channel_id]:
            count = simulator.live.drop_media(channel_id)
            stdout_events({"event": "media_dropped_by_command", "channel": channel_id, "streams": count})
        case ["media", ("on" | "off") as state, channel_id]:
            simulator.live.mute(channel_id, state == "off")
            stdout_events({"event": "media", "state": state, "channel": channel_id})
        case ["invite-reject", channel_id, status]:
            if status != "off" and not (status.isdigit() and 300 <= int(status) <= 699):
                raise CommandError("STATUS must be 300-699 or off")
            simulator.live.reject(channel_id, None if status == "off" else int(status))
            stdout_events({"event": "invite_reject", "channel": channel_id, "status": status})
        case _:
            raise CommandError("unknown command; try 'help'")
