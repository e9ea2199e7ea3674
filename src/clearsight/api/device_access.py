"""The API's side of access control for device routes: a device is reached through its channels.

    @router.post("/devices/{device_id}/catalog/refresh")
    async def refresh_catalog(..., device: ManagedDevice) -> CatalogQueried:

`DevicePermission()` admits a caller who may see one of the device's channels (administrators: any device) and
answers 404 otherwise, as for an unknown device: device detail, its channels, its live status.
`DevicePermission(action)` also needs `action` allowed on *every* channel of the device, since what it does
(a catalog refresh rewrites every channel row of the device) touches each of them: else 403
`/problems/access-denied` naming the action and the device. `tests/access/test_device_matrix.py` fails for a
device route without one of these checks, unless only administrators may call it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends

from clearsight.access.policy import Action
from clearsight.api.channel_access import ACCESS_DENIED, list_scope
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import DeviceId
from clearsight.api.ports import DeviceRecord
from clearsight.api.problems import Problem
from clearsight.api.security import CurrentUser
from clearsight.api.tokens import Principal

logger = logging.getLogger(__name__)


async def visible_device(services: ApiServices, user: Principal, device_id: str) -> DeviceRecord:
    """The device if the caller may see one of its channels (administrators: any); else 404 as if unknown."""
    device = await services.registry.get_device(device_id)
    scope = await list_scope(services, user)
    if device is None or (scope is not None and not await services.registry.device_in_scope(device_id, scope)):
        raise Problem(404, f"no device {device_id}")
    return device


async def hidden_channel_ids(services: ApiServices, user: Principal, device_id: str, gb_ids: Sequence[str]) -> set[str]:
    """Those of `gb_ids` that are channels of the device the caller may not see (empty for administrators)."""
    scope = await list_scope(services, user)
    if scope is None or services.access is None:
        return set()
    facts = await services.access.store.device_channel_facts(device_id, gb_ids)
    return {channel.gb_id for channel in facts if not scope.admits(channel)}


class DevicePermission:
    """A dependency admitting the caller to the path's device: visible to them and, with an `action`, that
    action allowed on every one of its channels."""

    def __init__(self, action: Action | None = None) -> None:
        self.action = action

    async def __call__(self, services: Services, user: CurrentUser, device_id: DeviceId) -> DeviceRecord:
        device = await visible_device(services, user, device_id)
        if self.action is None:
            return device
        scope = await list_scope(services, user, self.action)
        if scope is not None and not await services.registry.device_in_scope(device_id, scope, every_channel=True):
            logger.info("user %s refused %s on device %s: not allowed on every channel of it", user.username,
                        self.action, device_id)
            raise Problem(403, f"{self.action.value} on device {device_id} needs {self.action.value} on every channel "
                               "of it", type_=ACCESS_DENIED, title="Access denied",
                          extensions={"action": self.action.value, "device_id": device_id})
        return device


VisibleDevice = Annotated[DeviceRecord, Depends(DevicePermission())]
ManagedDevice = Annotated[DeviceRecord, Depends(DevicePermission(Action.MANAGE))]
