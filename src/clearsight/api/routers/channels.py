"""`/api/v1/channels`: list and show channels; PTZ control."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from clearsight.api.auditing import audit_channel
from clearsight.api.channel_access import PtzAccess, channel_facts, list_scope
from clearsight.api.deps import ApiServices, Services
from clearsight.api.list_pages import channel_page
from clearsight.api.params import (
    DEFAULT_PAGE_SIZE,
    ChannelPk,
    CountMatches,
    Cursor,
    DeviceIdFilter,
    Limit,
    NameFilter,
    Offset,
    OnlineFilter,
    RegionFilter,
)
from clearsight.api.ports import ChannelRecord
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.ptz_commands import ptz_hex
from clearsight.api.schemas import ChannelOut, ChannelPage, CommandSent, PtzRequest
from clearsight.api.security import CurrentUser, Operator
from clearsight.audit import AuditAction

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/channels", tags=["channels"], responses=PROBLEM_RESPONSES)


async def _channel_or_404(services: ApiServices, channel_id: int) -> ChannelRecord:
    channel = await services.registry.get_channel(channel_id)
    if channel is None:
        raise Problem(404, f"no channel {channel_id}")
    return channel


@router.get("")
async def list_channels(
    services: Services,
    user: CurrentUser,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    count: CountMatches = None,
    device_id: DeviceIdFilter = None,
    online: OnlineFilter = None,
    name: NameFilter = None,
    region: RegionFilter = None,
) -> ChannelPage:
    """The channels the caller may see (filtered by their grants in the query), by `offset` or by `cursor`."""
    return await channel_page(services, offset=offset, limit=limit, cursor=cursor, count=count, device_id=device_id,
                              online=online, name=name, region=region, scope=await list_scope(services, user))


@router.get("/{channel_id}")
async def get_channel(services: Services, user: CurrentUser, channel_id: ChannelPk) -> ChannelOut:
    """One channel, if the caller may see it (404 as for an unknown one otherwise)."""
    scope = await list_scope(services, user)
    facts = await channel_facts(services, channel_id) if scope is not None else None
    if scope is not None and (facts is None or not scope.admits(facts)):
        raise Problem(404, f"no channel {channel_id}")
    return ChannelOut.model_validate(await _channel_or_404(services, channel_id))


@router.post("/{channel_id}/ptz", status_code=202)
async def control_ptz(
    request: Request, services: Services, user: Operator, access: PtzAccess, channel_id: ChannelPk,
    command: PtzRequest
) -> CommandSent:
    """Send a PTZ command; 202 once the device accepted the DeviceControl message."""
    channel = await _channel_or_404(services, channel_id)
    await services.control.send_ptz(channel.device_id, channel.gb_id, ptz_hex(command))
    logger.info(
        "channel %s of device %s: PTZ %s by %s",
        channel.gb_id,
        channel.device_id,
        command.action,
        user.username,
    )
    await audit_channel(services, AuditAction.PTZ, user.username, channel_id, request, channel=channel,
                        grant=access.grant_id, command=command.model_dump(mode="json"))
    return CommandSent()
