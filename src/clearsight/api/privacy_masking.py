"""Whether a caller sees a channel's picture masked: its enabled privacy masks, unless they may lift them.

    masking = await picture_masking(services, access.user, channel_id)
    jpeg = await asyncio.to_thread(keyframe_to_jpeg, keyframe, masking.painter)
    await audit_channel(..., privacy_masks=masking.mask_ids, masks_lifted=masking.lifted)

Lifting is access control's `lift_mask` action on the channel (administrators always may). On an app built
without access control only administrators lift masks: the safe side. See docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clearsight.access.policy import Action
from clearsight.access.users import Role
from clearsight.api.channel_access import channel_facts, subject_of
from clearsight.api.deps import ApiServices
from clearsight.api.tokens import Principal
from clearsight.audit import JsonValue
from clearsight.privacy import AppliedMask, painter_for

if TYPE_CHECKING:
    from clearsight.privacy.painter import MaskPainter


@dataclass(frozen=True, slots=True)
class PictureMasking:
    """The channel's enabled masks and whether this caller sees behind them."""

    masks: tuple[AppliedMask, ...]
    lifted: bool

    @property
    def applied(self) -> tuple[AppliedMask, ...]:
        return () if self.lifted else self.masks

    @property
    def painter(self) -> MaskPainter | None:
        """What to paint this caller's pictures with; None: the picture as recorded."""
        return painter_for(self.applied)

    @property
    def mask_ids(self) -> list[JsonValue]:
        """For audit entries (`privacy_masks`, with `masks_lifted`)."""
        return [mask.id for mask in self.masks]


async def may_lift_masks(services: ApiServices, user: Principal, channel_id: int) -> bool:
    access = services.access
    if access is None:
        return user.role == Role.ADMINISTRATOR
    subject = await subject_of(services, user)
    facts = await channel_facts(services, channel_id)
    if subject is None or facts is None:
        return False
    return (await access.authorize(subject, Action.LIFT_MASK, facts)).allowed


async def _enabled_masks(services: ApiServices, channel_id: int) -> tuple[AppliedMask, ...]:
    return await services.privacy_masks.applied_masks(channel_id) if services.privacy_masks is not None else ()


async def picture_masking(services: ApiServices, user: Principal, channel_id: int) -> PictureMasking:
    masks = await _enabled_masks(services, channel_id)
    if not masks:
        return PictureMasking((), lifted=False)
    return PictureMasking(masks, lifted=await may_lift_masks(services, user, channel_id))


@dataclass(frozen=True, slots=True)
class ExportMasking:
    """An export's channels: where the exporter may lift masks, and where masks are applied or lifted now."""

    may_lift: list[int]  # stored with the export: its builder burns masks into every other channel
    applied: list[JsonValue]  # channels with masks the exporter may not lift (audit)
    lifted: list[JsonValue]  # channels with masks the exporter may lift (audit)


async def export_masking(services: ApiServices, user: Principal, channel_ids: Sequence[int]) -> ExportMasking:
    may_lift: list[int] = []
    applied: list[JsonValue] = []
    lifted: list[JsonValue] = []
    for channel_id in channel_ids:
        lifts = await may_lift_masks(services, user, channel_id)
        if lifts:
            may_lift.append(channel_id)
        masking = PictureMasking(await _enabled_masks(services, channel_id), lifts)
        if masking.masks:
            (lifted if lifts else applied).append(channel_id)
    return ExportMasking(may_lift, applied, lifted)
