"""The platform and the device simulator as real processes, talking SIP over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import sim_args, start_sim
from tests.integration.processes import PlatformProcess, SimProcess, free_port, wait_until

pytestmark = pytest.mark.integration

DEVICE_ID = "34020000001320000001"


def _device(client: httpx.Client, device_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/devices/{device_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _is(kind: str, **fields: object) -> Any:
    return lambda e: e.get("event") == kind and all(e.get(k) == v for k, v in fields.items())


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_device_registers_and_its_catalog_is_stored(platform: PlatformProcess, sims: list[SimProcess],
                                                     transport: str) -> None:
    sim = start_sim(sims, sim_args(platform, devices=2, channels=3, transport=transport))
    ready = sim.wait_for(_is("ready"))
    assert ready["registered"] == 2
    register = sim.wait_for(_is("register", device=DEVICE_ID, status=200))
    assert register["date"] and "T" in register["date"]  # GB-style Date header for clock sync
    with platform.client() as client:
        wait_until(lambda: _device(client, DEVICE_ID)["channel_count"] == 3)
        device = _device(client, DEVICE_ID)
        assert device["online"] is True
        assert device["transport"] == transport
        assert device["manufacturer"] == "Clearsight"  # from DeviceInfo
        listing = client.get("/api/v1/devices", params={"online": "true"}).json()
        assert listing["total"] == 2
        channels = client.get(f"/api/v1/devices/{DEVICE_ID}/channels").json()
        assert channels["total"] == 3
        assert {c["name"] for c in channels["items"]} == {"Camera 1-1", "Camera 1-2", "Camera 1-3"}
        regions = client.get("/api/v1/regions").json()
        assert regions and regions[0]["code"] == "34"
        status = client.get(f"/api/v1/devices/{DEVICE_ID}/status").json()
        assert status["online"] is True and status["device_id"] == DEVICE_ID


def test_wrong_password_is_refused(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform, password="not-the-password"))
    assert sim.wait_for(_is("ready"))["registered"] == 0
    sim.wait_for(_is("register", device=DEVICE_ID, status=403))
    with platform.client() as client:
        assert client.get(f"/api/v1/devices/{DEVICE_ID}").status_code == 404
        assert client.get("/api/v1/devices").json()["total"] == 0


def test_device_goes_offline_when_keepalives_stop(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform, keepalive=1.0))
    sim.wait_for(_is("ready"))
    with platform.client() as client:
        wait_until(lambda: _device(client, DEVICE_ID)["online"] is True)
        sim.send(f"keepalive off {DEVICE_ID}")
        # The platform runs with a 1 s keepalive interval: offline after 3 misses, well within 10 s.
        wait_until(lambda: _device(client, DEVICE_ID)["online"] is False, timeout=10)
        sim.send(f"keepalive on {DEVICE_ID}")
        # A keepalive from a device the platform considers offline gets 403; the device re-registers.
        wait_until(lambda: _device(client, DEVICE_ID)["online"] is True, timeout=10)


def test_unregister_marks_device_offline(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform))
    sim.wait_for(_is("ready"))
    with platform.client() as client:
        wait_until(lambda: _device(client, DEVICE_ID)["online"] is True)
        sim.send(f"unregister {DEVICE_ID}")
        sim.wait_for(_is("register", device=DEVICE_ID, status=200, expires=0))
        wait_until(lambda: _device(client, DEVICE_ID)["online"] is False, timeout=5)


def test_large_catalog_arrives_in_chunks(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform, channels=2000, extra=["--catalog-chunk", "25"]))
    sim.wait_for(_is("ready"))
    sent = sim.wait_for(_is("catalog_sent", device=DEVICE_ID), timeout=60)
    assert sent["chunks"] == 80
    with platform.client() as client:
        wait_until(lambda: _device(client, DEVICE_ID)["channel_count"] == 2000, timeout=60)
        page = client.get("/api/v1/channels", params={"device_id": DEVICE_ID, "limit": 100, "offset": 1900})
        body = page.json()
        assert body["total"] == 2000
        assert len(body["items"]) == 100


def test_ptz_reaches_the_device(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform, channels=1))
    sim.wait_for(_is("ready"))
    with platform.client() as client:
        wait_until(lambda: _device(client, DEVICE_ID)["channel_count"] == 1)
        channel = client.get(f"/api/v1/devices/{DEVICE_ID}/channels").json()["items"][0]
        response = client.post(f"/api/v1/channels/{channel['id']}/ptz",
                               json={"action": "move", "pan": 1, "tilt": 0, "zoom": 0, "speed": 255})
        assert response.status_code == 202, response.text
        moved = sim.wait_for(_is("ptz", channel=channel["gb_id"]))
        assert moved["command"] == "A50F0101FF0000B5"
        assert moved["pan"] > 0
        client.post(f"/api/v1/channels/{channel['id']}/ptz", json={"action": "preset_set", "preset": 5})
        sim.wait_for(lambda e: e.get("event") == "ptz" and e.get("presets") == [5])
        client.post(f"/api/v1/channels/{channel['id']}/ptz", json={"action": "stop"})
        sim.wait_for(_is("ptz", command="A50F0100000000B5"))


def test_catalog_change_events(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform, channels=2))
    sim.wait_for(_is("ready"))
    with platform.client() as client:
        wait_until(lambda: _device(client, DEVICE_ID)["channel_count"] == 2)
        channels = client.get(f"/api/v1/devices/{DEVICE_ID}/channels").json()["items"]
        target = channels[0]["gb_id"]
        # After the catalog the platform subscribes to changes; the device then NOTIFYs in that dialog.
        assert sim.wait_for(_is("subscribed", device=DEVICE_ID))["expires"] == 3600
        sim.send(f"event OFF {DEVICE_ID} {target}")
        assert sim.wait_for(_is("catalog_event", change="OFF"))["method"] == "NOTIFY"
        assert sim.wait_for(_is("catalog_event", change="OFF"))["status"] == 200

        def channel_online() -> bool:
            items = client.get(f"/api/v1/devices/{DEVICE_ID}/channels").json()["items"]
            return bool(next(c for c in items if c["gb_id"] == target)["online"])

        wait_until(lambda: not channel_online())
        sim.send(f"event ON {DEVICE_ID} {target}")
        wait_until(channel_online)
        sim.send(f"event DEL {DEVICE_ID} {target}")
        wait_until(lambda: _device(client, DEVICE_ID)["channel_count"] == 1)


def test_catalog_events_by_message_without_subscription(tmp_path: Path, sims: list[SimProcess]) -> None:
    platform = PlatformProcess(data_dir=tmp_path / "platform", sip_port=free_port(), http_port=free_port(),
                               extra_env={"CLEARSIGHT_CATALOG_SUBSCRIPTION_EXPIRES": "0"})
    platform.start()
    try:
        sim = start_sim(sims, sim_args(platform, channels=2))
        sim.wait_for(_is("ready"))
        with platform.client() as client:
            wait_until(lambda: _device(client, DEVICE_ID)["channel_count"] == 2)
            target = client.get(f"/api/v1/devices/{DEVICE_ID}/channels").json()["items"][1]["gb_id"]
            sim.send(f"event DEL {DEVICE_ID} {target}")
            event = sim.wait_for(_is("catalog_event", change="DEL"))
            assert (event["method"], event["status"]) == ("MESSAGE", 200)
            wait_until(lambda: _device(client, DEVICE_ID)["channel_count"] == 1)
        assert not any(e.get("event") == "subscribed" for e in sim.seen)
    finally:
        platform.stop()


def test_metrics_count_sip_traffic(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform))
    sim.wait_for(_is("ready"))
    with platform.client() as client:
        wait_until(lambda: 'clearsight_devices_online 1.0' in client.get("/metrics").text)
        text = client.get("/metrics").text
        assert 'clearsight_sip_messages_total{direction="in",method="REGISTER",status=""}' in text
        assert 'status="401"' in text


def test_per_device_password_takes_effect_at_once(platform: PlatformProcess, sims: list[SimProcess]) -> None:
    sim = start_sim(sims, sim_args(platform))
    sim.wait_for(_is("ready"))
    with platform.client() as client:
        wait_until(lambda: _device(client, DEVICE_ID)["online"] is True)
        response = client.put(f"/api/v1/devices/{DEVICE_ID}/password", json={"password": "only-this-device"})
        assert response.status_code == 204
        # The simulator still uses the default password: its next registration is refused.
        sim.send(f"register {DEVICE_ID}")
        sim.wait_for(_is("register", device=DEVICE_ID, status=403), new_only=True)
        client.put(f"/api/v1/devices/{DEVICE_ID}/password", json={"password": None})
        sim.send(f"register {DEVICE_ID}")
        sim.wait_for(_is("register", device=DEVICE_ID, status=200), new_only=True)
