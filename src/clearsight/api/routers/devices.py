"""`/api/v1/devices`: list, show and remove devices; their channels; catalog refresh."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from clearsight.api.channel_access import list_scope
from clearsight.api.deps import ApiServices, Services
from clearsight.api.device_access import ManagedDevice, VisibleDevice, hidden_channel_ids
from clearsight.api.list_pages import channel_page, device_out, device_page
from clearsight.api.params import (
    DEFAULT_PAGE_SIZE,
    CountMatches,
    Cursor,
    DeviceId,
    Limit,
    NameFilter,
    Offset,
    OnlineFilter,
    RegionFilter,
)
from clearsight.api.ports import DeviceRecord
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.schemas import (
    CatalogQueried,
    ChannelPage,
    DeviceOut,
    DevicePage,
    DevicePasswordIn,
    DeviceStatusOut,
)
from clearsight.api.security import Administrator, CurrentUser, Operator

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/devices", tags=["devices"], responses=PROBLEM_RESPONSES)


async def _device_or_404(services: ApiServices, device_id: str) -> DeviceRecord:
    device = await services.registry.get_device(device_id)
    if device is None:
        raise Problem(404, f"no device {device_id}")
    return device


@router.get("")
async def list_devices(
    services: Services,
    user: CurrentUser,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    count: CountMatches = None,
    online: OnlineFilter = None,
    name: NameFilter = None,
    region: RegionFilter = None,
) -> DevicePage:
    """The devices with at least one channel the caller may see (administrators: all), filtered in the query, by
    `offset` or by `cursor`."""
    return await device_page(services, offset=offset, limit=limit, cursor=cursor, count=count, online=online,
                             name=name, region=region, scope=await list_scope(services, user))


@router.get("/{device_id}")
async def get_device(services: Services, device: VisibleDevice) -> DeviceOut:
    """One device, if the caller may see one of its channels (404 as for an unknown one otherwise)."""
    return device_out(services, device)


@router.delete("/{device_id}", status_code=204)
async def delete_device(services: Services, user: Administrator, device_id: DeviceId) -> None:
    """Forget a device and its channels (administrators only); it may register again (unless unknown
    devices are rejected or held: CLEARSIGHT_UNKNOWN_DEVICES)."""
    if not await services.registry.delete_device(device_id):
        raise Problem(404, f"no device {device_id}")
    if services.admission is not None:
        services.admission.forget(device_id)
    logger.info("device %s deleted by %s", device_id, user.username)


@router.get("/{device_id}/channels")
async def list_device_channels(
    services: Services,
    user: CurrentUser,
    _device: VisibleDevice,
    device_id: DeviceId,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    count: CountMatches = None,
    online: OnlineFilter = None,
    name: NameFilter = None,
    region: RegionFilter = None,
) -> ChannelPage:
    """The device's channels that the caller may see (404 for a device they see no channel of)."""
    return await channel_page(services, offset=offset, limit=limit, cursor=cursor, count=count, device_id=device_id,
                              online=online, name=name, region=region, scope=await list_scope(services, user))


@router.post("/{device_id}/catalog/refresh", status_code=202)
async def refresh_catalog(services: Services, user: Operator, device: ManagedDevice) -> CatalogQueried:
    """Ask the device for its catalog; the answer updates the registry when it arrives. Needs `manage` on every
    channel of the device (it may rewrite each of them); 404 for a device the caller sees no channel of."""
    sn = await services.control.refresh_catalog(device.id)
    logger.info("device %s catalog queried (SN %d) by %s", device.id, sn, user.username)
    return CatalogQueried(sn=sn)


@router.get("/{device_id}/status")
async def device_status(services: Services, user: CurrentUser, device: VisibleDevice) -> DeviceStatusOut:
    """Ask the device now (a DeviceStatus query) and return its answer; 404 for a device the caller sees no channel
    of. Alarm inputs that are channels hidden from the caller are left out."""
    status = await services.control.query_status(device.id)
    hidden = await hidden_channel_ids(services, user, device.id, [alarm.device_id for alarm in status.alarms])
    return DeviceStatusOut(
        device_id=device.id, online=status.is_online, status_ok=status.is_ok, result=status.result,
        encode=status.encode, record=status.record, device_time=status.device_time,
        alarms=[f"{alarm.device_id}:{alarm.duty_status}" for alarm in status.alarms if alarm.device_id not in hidden])


@router.put("/{device_id}/password", status_code=204)
async def set_device_password(
    services: Services, user: Administrator, device_id: DeviceId, body: DevicePasswordIn
) -> None:
    """Set the device's own digest password (administrators only); its next REGISTER must use it."""
    await _device_or_404(services, device_id)
    await services.registry.set_device_password(device_id, body.password)
    services.control.set_device_password(device_id, body.password)
    logger.info("device %s password %s by %s", device_id, "set" if body.password else "reset", user.username)
