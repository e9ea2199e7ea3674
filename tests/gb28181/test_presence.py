"""Online state in memory: offline detection and what gets persisted when."""

from __future__ import annotations

import random
from datetime import timedelta

from clearsight.gb28181.presence import Peer, PresenceTracker
from tests.gb28181.platform_fakes import DEVICE_ID, FakeClock

PEER = Peer("UDP", "127.0.0.1", 5062)


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
    presence.keepalive(DEVICE_ID, Peer("UDP", "127.0.0.1", 6000), clock())
    assert presence.has_urgent()
    assert presence.drain(include_keepalives=False)[0].peer == Peer("UDP", "127.0.0.1", 6000)


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


def test_sweep_matches_a_full_scan_over_many_devices() -> None:
    """The timing wheel finds exactly the devices a scan of every device would find, second by second."""
    rng = random.Random(7)
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=5, misses=3)
    ids = [f"340200000013200{n:05d}" for n in range(500)]
    for device_id in ids:
        presence.registered(device_id, PEER, rng.choice([30, 3600]), clock())
    silent = set(rng.sample(ids, 100))
    for _ in range(400):  # 40 s in 0.1 s steps
        clock.advance(0.1)
        for device_id in rng.sample(ids, 20):
            if device_id not in silent:
                presence.keepalive(device_id, PEER, clock())
        presence.sweep(clock())
        for device_id in ids:
            entry = presence.get(device_id)
            assert entry is not None
            last = entry.last_keepalive or entry.registered_at
            overdue = clock() >= entry.expires_at or (clock() - last).total_seconds() >= 15
            # Offline exactly when overdue, within the sweep's one-second granularity.
            if not overdue:
                assert entry.online or device_id in silent or clock() >= entry.expires_at, device_id
            if entry.online:
                assert (clock() - last).total_seconds() < 16 and clock() < entry.expires_at + timedelta(seconds=1)
    assert presence.online_count() == sum(1 for d in ids if presence.is_online(d))
    assert all(not presence.is_online(d) for d in silent)


def test_drain_in_slices_loses_nothing_and_puts_urgent_first() -> None:
    clock = FakeClock()
    presence = PresenceTracker(keepalive_interval=60)
    ids = [f"340200000013200{n:05d}" for n in range(250)]
    for device_id in ids:
        presence.registered(device_id, PEER, 3600, clock())
    presence.drain(include_keepalives=True)
    clock.advance(5)
    for device_id in ids:
        presence.keepalive(device_id, PEER, clock())
    presence.unregistered(ids[0])
    first = presence.drain(include_keepalives=True, limit=100)
    assert first[0].device_id == ids[0] and not first[0].online
    seen = [c.device_id for c in first]
    while chunk := presence.drain(include_keepalives=True, limit=100):
        assert len(chunk) <= 100
        seen += [c.device_id for c in chunk]
    assert sorted(seen) == sorted(ids)
