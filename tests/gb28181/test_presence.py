"""Online state in memory: offline detection and what gets persisted when."""

from __future__ import annotations

from clearsight.gb28181.presence import DevicePeer, PresenceTracker
from tests.gb28181.platform_fakes import DEVICE_ID, FakeClock

PEER = DevicePeer("UDP", "127.0.0.1", 5062)


def test_offline_after_three_missed_keepalives() -> None:
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=60, misses=3)
    presence.registered(DEVICE_ID, PEER, 3600, clock())
    clock.advance(60)
    assert presence.keepalive(DEVICE_ID, PEER, clock())
    clock.advance(179)
    assert presence.sweep(clock()) == []
    clock.advance(1)
    assert presence.sweep(clock()) == [DEVICE_ID]
    assert not presence.is_online(DEVICE_ID)
    # A keepalive now is refused: the device must register again.
    assert not presence.keepalive(DEVICE_ID, PEER, clock())


def test_offline_when_registration_expires_despite_keepalives() -> None:
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=60)
    presence.registered(DEVICE_ID, PEER, 120, clock())
    for _ in range(2):
        clock.advance(60)
        presence.keepalive(DEVICE_ID, PEER, clock())
        presence.sweep(clock())
    assert not presence.is_online(DEVICE_ID)


def test_keepalive_from_unknown_device_is_refused() -> None:
    presence = PresenceTracker(keepalive_interval=60)
    assert not presence.keepalive(DEVICE_ID, PEER, FakeClock()())


def test_keepalives_wait_for_batch_but_changes_are_urgent() -> None:
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=60)
    presence.registered(DEVICE_ID, PEER, 3600, clock())
    assert presence.has_urgent()
    assert [c.device_id for c in presence.drain(include_keepalives=False)] == [DEVICE_ID]
    clock.advance(10)
    presence.keepalive(DEVICE_ID, PEER, clock())
    assert not presence.has_urgent()
    assert presence.drain(include_keepalives=False) == []
    changes = presence.drain(include_keepalives=True)
    assert [(c.device_id, c.last_keepalive) for c in changes] == [(DEVICE_ID, clock())]
    assert presence.drain(include_keepalives=True) == []


def test_new_source_address_is_urgent() -> None:
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=60)
    presence.registered(DEVICE_ID, PEER, 3600, clock())
    presence.drain(include_keepalives=True)
    presence.keepalive(DEVICE_ID, DevicePeer("UDP", "127.0.0.1", 6000), clock())
    assert presence.has_urgent()
    assert presence.drain(include_keepalives=False)[0].peer == DevicePeer("UDP", "127.0.0.1", 6000)


def test_failed_write_is_requeued() -> None:
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=60)
    presence.registered(DEVICE_ID, PEER, 3600, clock())
    changes = presence.drain(include_keepalives=False)
    presence.requeue(changes)
    assert [c.device_id for c in presence.drain(include_keepalives=False)] == [DEVICE_ID]


def test_unregister_reports_whether_it_was_online() -> None:
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=60)
    assert not presence.unregistered(DEVICE_ID)
    presence.registered(DEVICE_ID, PEER, 3600, clock())
    assert presence.unregistered(DEVICE_ID)
    assert presence.online_count() == 0
