"""`/api/v1/channels/{id}/privacy-masks`: the polygons hiding parts of a channel's picture (docs/privacy.md).

Reading needs `live` or `manage` on the channel; creating, changing and deleting need `manage` (and an
operator or administrator). Every change is audited as `privacy_mask.change` with the polygon and its hash.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from clearsight.access.policy import Action
from clearsight.api.auditing import audit_channel
from clearsight.api.channel_access import AnyChannelPermission, ChannelAccessGranted, ManageAccess
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import ChannelPk
from clearsight.api.privacy_mask_schemas import PrivacyMaskIn, PrivacyMaskOut
from clearsight.api.problems import PROBLEM_RESPONSES, Problem
from clearsight.api.security import Operator
from clearsight.audit import AuditAction
from clearsight.privacy import PrivacyMask
from clearsight.privacy.store import PrivacyMaskStore

logger = logging.getLogger(__name__)

router = APIRouter(tags=["privacy masks"], responses=PROBLEM_RESPONSES)
MaskId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The mask's ID.")]
MaskReadAccess = Annotated[ChannelAccessGranted, Depends(AnyChannelPermission(Action.LIVE, Action.MANAGE))]
MASKS_PATH = "/channels/{channel_id}/privacy-masks"


def _masks(services: ApiServices) -> PrivacyMaskStore:
    if services.privacy_masks is None:
        raise Problem(503, "privacy masks are not available on this platform")
    return services.privacy_masks


async def _audit(services: ApiServices, request: Request, actor: str, change: str, mask: PrivacyMask) -> None:
    await audit_channel(services, AuditAction.PRIVACY_MASK_CHANGE, actor, mask.channel_id, request,
                        change=change, mask_id=mask.id, name=mask.name, enabled=mask.enabled,
                        polygon=[[x, y] for x, y in mask.polygon], polygon_sha256=mask.digest)


@router.get(MASKS_PATH)
async def list_privacy_masks(services: Services, _access: MaskReadAccess, channel_id: ChannelPk
                             ) -> list[PrivacyMaskOut]:
    """The channel's masks, enabled or not, oldest first."""
    return [PrivacyMaskOut.of(mask) for mask in await _masks(services).list_masks(channel_id)]


@router.post(MASKS_PATH, status_code=201)
async def create_privacy_mask(request: Request, response: Response, services: Services, user: Operator,
                              _access: ManageAccess, channel_id: ChannelPk, body: PrivacyMaskIn) -> PrivacyMaskOut:
    """Add a mask; snapshots, thumbnails and exports made from now on are painted with it."""
    mask = await _masks(services).create(channel_id, name=body.name, polygon=tuple(body.polygon),
                                         enabled=body.enabled, actor=user.username)
    await _audit(services, request, user.username, "create", mask)
    response.headers["Location"] = f"{request.url.path}/{mask.id}"
    return PrivacyMaskOut.of(mask)


@router.put(MASKS_PATH + "/{mask_id}")
async def update_privacy_mask(request: Request, services: Services, user: Operator, _access: ManageAccess,
                              channel_id: ChannelPk, mask_id: MaskId, body: PrivacyMaskIn) -> PrivacyMaskOut:
    """Replace a mask's name, polygon and enabled flag."""
    mask = await _masks(services).update(channel_id, mask_id, name=body.name, polygon=tuple(body.polygon),
                                         enabled=body.enabled, actor=user.username)
    if mask is None:
        raise Problem(404, f"channel {channel_id} has no privacy mask {mask_id}")
    await _audit(services, request, user.username, "update", mask)
    return PrivacyMaskOut.of(mask)


@router.delete(MASKS_PATH + "/{mask_id}", status_code=204)
async def delete_privacy_mask(request: Request, services: Services, user: Operator, _access: ManageAccess,
                              channel_id: ChannelPk, mask_id: MaskId) -> Response:
    mask = await _masks(services).delete(channel_id, mask_id)
    if mask is None:
        raise Problem(404, f"channel {channel_id} has no privacy mask {mask_id}")
    await _audit(services, request, user.username, "delete", mask)
    return Response(status_code=204)
