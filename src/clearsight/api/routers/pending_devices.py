"""`/api/v1/devices/pending`: devices that tried to register without being in the registry (administrators).

With `CLEARSIGHT_UNKNOWN_DEVICES=hold` unknown devices are answered 403 and listed here; an approval adds the
device to the registry (it registers at its next REGISTER), a rejection keeps it refused and listed. Both are
audited as device.change (docs/sip-security.md).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from clearsight.api.admission_schemas import DeviceApprovalIn, PendingDeviceOut
from clearsight.api.auditing import client_address
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import DeviceId
from clearsight.api.ports import DeviceAdmissionPort
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.security import Administrator
from clearsight.audit import AuditAction
from clearsight.registry.admission_store import AdmissionRecord, AdmissionState

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/devices/pending", tags=["devices"], responses=PROBLEM_RESPONSES)


def admission_of(services: ApiServices) -> DeviceAdmissionPort:
    if services.admission is None:
        raise Problem(503, "device admission is not configured on this platform")
    return services.admission


async def _held_or_404(admission: DeviceAdmissionPort, device_id: str) -> AdmissionRecord:
    record = await admission.get(device_id)
    if record is None:
        raise Problem(404, f"device {device_id} is neither pending nor rejected")
    return record


@router.get("")
async def list_pending_devices(services: Services, _user: Administrator,
                               state: AdmissionState | None = None) -> list[PendingDeviceOut]:
    """Held and rejected devices (or only those in `state`), most recently seen first."""
    return [PendingDeviceOut.of(record) for record in await admission_of(services).list_admissions(state)]


@router.post("/{device_id}/approve")
async def approve_pending_device(request: Request, services: Services, user: Administrator, device_id: DeviceId,
                                 body: DeviceApprovalIn | None = None) -> PendingDeviceOut:
    """Admit the device (pending or rejected) into the registry, optionally with its own password."""
    admission = admission_of(services)
    held = await _held_or_404(admission, device_id)
    password = body.password if body is not None else None
    await services.audit.record(AuditAction.DEVICE_CHANGE, actor=user.username, target=device_id,
                                client=client_address(request),
                                details={"admission": "approved", "was": held.state.value,
                                         "password_set": password is not None, "source": held.remote_host})
    approved = await admission.approve(device_id, password)
    if approved is None:
        raise Problem(404, f"device {device_id} is neither pending nor rejected")
    logger.info("device %s approved by %s", device_id, user.username)
    return PendingDeviceOut.of(approved, state="approved")


@router.delete("/{device_id}")
async def reject_pending_device(request: Request, services: Services, user: Administrator,
                                device_id: DeviceId) -> PendingDeviceOut:
    """Refuse the device for good: it stays listed as rejected and every REGISTER of it gets 403."""
    admission = admission_of(services)
    held = await _held_or_404(admission, device_id)
    await services.audit.record(AuditAction.DEVICE_CHANGE, actor=user.username, target=device_id,
                                client=client_address(request),
                                details={"admission": "rejected", "was": held.state.value, "source": held.remote_host})
    rejected = await admission.reject(device_id, user.username)
    if rejected is None:
        raise Problem(404, f"device {device_id} is neither pending nor rejected")
    return PendingDeviceOut.of(rejected)
