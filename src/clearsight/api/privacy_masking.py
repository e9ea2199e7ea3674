"""Whether a caller sees a channel's picture masked: its enabled privacy masks, unless they may lift them.

    masking = await picture_masking(services, access.user, channel_id)
    jpeg = await asyncio.to_thread(keyframe_to_jpeg, keyframe, masking.painter)
    await audit_channel(..., **masking.audit_details())

Lifting is access control's `lift_mask` action on the channel (administrators always may). On an app built
without access control only administrators lift masks: the safe side. See docs/privacy.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearsight.access.policy import Action
from clearsight.access.users import Role
from clearsight.api.channel_access import channel_facts, subject_of
from clearsight.api.deps import ApiServices
from clearsight.api.tokens import Principal
from clearsight.audit import JsonValue
from clearsight.privacy import AppliedMask, MaskPainter, painter_for


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

    def audit_details(self) -> dict[str, JsonValue]:
        return {"privacy_masks": [mask.id for mask in self.masks], "masks_lifted": self.lifted}


async def may_lift_masks(services: ApiServices, user: Principal, channel_id: int) -> bool:
    access = services.access
    if access is None:
        return user.role == Role.ADMINISTRATOR
    subject = await subject_of(services, user)
    facts = await channel_facts(services, channel_id)
    if subject is None or facts is None:
        return False
    return (await access.authorize(subject, Action.LIFT_MASK, facts)).allowed


async def picture_masking(services: ApiServices, user: Principal, channel_id: int) -> PictureMasking:
    masks = await services.privacy_masks.applied_masks(channel_id) if services.privacy_masks is not None else ()
    if not masks:
        return PictureMasking((), lifted=False)
    return PictureMasking(masks, lifted=await may_lift_masks(services, user, channel_id))
