"""DeviceAdmission on the real registry database: accept, reject, hold, approve, reject for good, caps."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from clearsight.gb28181.admission import DeviceAdmission, UnknownDevicePolicy
from clearsight.gb28181.presence import PresenceTracker
from clearsight.gb28181.registrar import Registrar
from clearsight.registry.admission_store import AdmissionState, AdmissionStore
from clearsight.registry.store import RegistryStore
from clearsight.sip.digest import DigestAuthenticator, authorization_for, parse_challenge
from clearsight.sip.transport import Peer
from tests.gb28181.platform_fakes import DEVICE_ID, DEVICE_PEER, DOMAIN, AnsweredRequest, FakeClock, sip_request

PASSWORD = "12345678"
OTHER_ID = "34020000001320000077"
NAT_PEER = Peer("TCP", "198.51.100.7", 40000)


class Setup:
    def __init__(self, registry: RegistryStore, policy: UnknownDevicePolicy, *, max_pending: int = 1000) -> None:
        self.clock = FakeClock()
        self.registry = registry
        self.passwords: dict[str, str] = {}
        self.failures: list[Peer] = []

        def set_password(device_id: str, password: str | None) -> None:
            if password is not None:
                self.passwords[device_id] = password

        self.admission = DeviceAdmission(AdmissionStore(registry), policy, clock=self.clock,
                                         set_password=set_password, max_pending=max_pending)
        self.registrar = Registrar(
            authenticator=DigestAuthenticator(realm=DOMAIN, secret=b"k" * 32, nonce_ttl=300,
                                              clock=self.clock.timestamp),
            passwords=lambda device_id: self.passwords.get(device_id, PASSWORD), presence=PresenceTracker(60),
            device_tz=UTC,
            clock=self.clock, admission=self.admission, on_auth_failed=self.failures.append)

    async def send(self, extra: list[tuple[str, str]], *, device_id: str = DEVICE_ID, cseq: int = 1,
                   peer: Peer = DEVICE_PEER) -> AnsweredRequest:
        incoming = AnsweredRequest(sip_request("REGISTER", extra=extra, cseq=cseq, device_id=device_id), peer)
        await self.registrar.handle(incoming)
        return incoming

    async def register(self, *, device_id: str = DEVICE_ID, password: str = PASSWORD,
                       peer: Peer = DEVICE_PEER) -> int:
        expires = [("Expires", "3600"), ("User-Agent", "IP Camera V5.5")]
        first = await self.send(expires, device_id=device_id, peer=peer)
        if first.status != 401:
            return first.status
        challenge = parse_challenge(first.answers[0].headers.get_all("WWW-Authenticate")[0])
        authorization = authorization_for(challenge, "REGISTER", f"sip:x@{DOMAIN}", device_id, password)
        return (await self.send([*expires, ("Authorization", authorization)], device_id=device_id, cseq=2,
                                peer=peer)).status


async def existing_device(registry: RegistryStore, device_id: str, clock: FakeClock) -> None:
    await registry.upsert_device(device_id, transport="udp", remote_host="127.0.0.1", remote_port=5062,
                                 registered_at=clock(), expires_at=clock() + timedelta(hours=1))


async def test_accept_lets_unknown_devices_register_as_before(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.ACCEPT)
    assert await setup.register() == 200
    assert await setup.admission.list_admissions() == []


async def test_reject_refuses_unknown_devices_before_any_challenge(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.REJECT)
    answered = await setup.send([("Expires", "3600")])
    assert answered.status == 403 and answered.answers[0].header("WWW-Authenticate") is None
    assert await setup.admission.list_admissions() == []  # not kept
    assert setup.admission.counts.refused_unknown == 1


async def test_known_devices_register_under_reject_and_hold(registry_store: RegistryStore) -> None:
    for policy in (UnknownDevicePolicy.REJECT, UnknownDevicePolicy.HOLD):
        setup = Setup(registry_store, policy)
        await existing_device(registry_store, DEVICE_ID, setup.clock)
        assert await setup.register() == 200


async def test_hold_lists_the_device_with_its_attempts(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.HOLD)
    first_seen = setup.clock()
    assert await setup.register(peer=NAT_PEER) == 403
    setup.clock.advance(30)
    assert await setup.register(peer=NAT_PEER) == 403
    [held] = await setup.admission.list_admissions()
    assert held.device_id == DEVICE_ID and held.state is AdmissionState.PENDING
    assert (held.transport, held.remote_host, held.remote_port) == ("tcp", "198.51.100.7", 40000)
    assert held.attempts == 2 and held.user_agent == "IP Camera V5.5"
    assert held.first_seen == first_seen and held.last_seen == first_seen + timedelta(seconds=30)
    assert setup.admission.pending_count == 1 and setup.admission.counts.held == 1


async def test_approved_device_registers_with_the_password_set_at_approval(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.HOLD)
    assert await setup.register() == 403
    approved = await setup.admission.approve(DEVICE_ID, "own-pass-1")
    assert approved is not None and approved.state is AdmissionState.PENDING
    assert await setup.admission.list_admissions() == []
    assert await setup.register() == 403  # the default password no longer works for it
    assert await setup.register(password="own-pass-1") == 200
    device = await registry_store.get_device(DEVICE_ID)
    assert device is not None and device.has_password
    assert await registry_store.device_password(DEVICE_ID) == "own-pass-1"


async def test_approval_survives_a_restart(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.HOLD)
    await setup.register()
    await setup.admission.approve(DEVICE_ID, None)
    restarted = Setup(registry_store, UnknownDevicePolicy.HOLD)
    await restarted.admission.load()
    assert await restarted.register() == 200


async def test_rejected_device_stays_rejected_and_listed_under_every_policy(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.HOLD)
    await setup.register()
    rejected = await setup.admission.reject(DEVICE_ID, "admin")
    assert rejected is not None and rejected.state is AdmissionState.REJECTED and rejected.decided_by == "admin"
    assert await setup.register() == 403
    accepting = Setup(registry_store, UnknownDevicePolicy.ACCEPT)
    await accepting.admission.load()
    assert await accepting.register() == 403
    [listed] = await accepting.admission.list_admissions(AdmissionState.REJECTED)
    assert listed.device_id == DEVICE_ID and listed.attempts == 3
    assert accepting.admission.counts.refused_rejected == 1
    assert await accepting.admission.approve(DEVICE_ID, None) is not None  # approving undoes it
    assert await accepting.register() == 200


async def test_unknown_ids_are_not_approvable(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.HOLD)
    assert await setup.admission.approve(OTHER_ID, None) is None
    assert await setup.admission.reject(OTHER_ID, "admin") is None


async def test_pending_list_is_capped_and_ignores_non_gb_ids(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.HOLD, max_pending=2)
    for serial in range(5):
        assert await setup.register(device_id=f"340200000013200001{serial:02d}") == 403
        setup.clock.advance(1)
    assert await setup.register(device_id="not-a-gb-id") == 403
    assert [r.device_id for r in await setup.admission.list_admissions()] == [
        "34020000001320000101", "34020000001320000100"]  # most recently seen first


async def test_deleted_device_is_held_again(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.HOLD)
    await existing_device(registry_store, DEVICE_ID, setup.clock)
    assert await setup.register() == 200
    assert await registry_store.delete_device(DEVICE_ID)
    setup.admission.forget(DEVICE_ID)
    assert await setup.register() == 403
    assert [r.device_id for r in await setup.admission.list_admissions()] == [DEVICE_ID]


async def test_failed_authentication_is_reported_for_the_brute_force_guard(registry_store: RegistryStore) -> None:
    setup = Setup(registry_store, UnknownDevicePolicy.ACCEPT)
    assert await setup.register(password="wrong-one", peer=NAT_PEER) == 403
    assert setup.failures == [NAT_PEER]
    setup.failures.clear()
    held = Setup(registry_store, UnknownDevicePolicy.HOLD)
    assert await held.register(device_id=OTHER_ID) == 403
    assert held.failures == []  # an unknown device is not a failed password


@pytest.mark.parametrize("policy", list(UnknownDevicePolicy))
async def test_policy_values_are_the_setting_values(policy: UnknownDevicePolicy) -> None:
    from clearsight.config import load_settings

    assert load_settings(unknown_devices=policy.value).unknown_devices == policy.value
