"""Recording: a channel's policy, its timeline (covered ranges, gaps, segments), thumbnails, legal holds, status.

Any signed-in user reads; operators and administrators change policies and place or release legal holds.
Releasing a hold (`DELETE`) keeps it, with who released it and when.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime

from clearsight.access.policy import Action
from clearsight.access.users import Role
from clearsight.api.channel_access import ManageAccess, PlaybackAccess, check_channel
from clearsight.api.deps import ApiServices, Services
from clearsight.api.params import ChannelPk
from clearsight.api.ports import HoldAlreadyReleased, RecordingPort
from clearsight.api.privacy_masking import picture_masking
from clearsight.api.problems import PROBLEM_RESPONSES, VALIDATION_FAILED, Problem
from clearsight.api.recording_schemas import (
    MAX_TIMELINE_RANGE,
    GapOut,
    LegalHoldIn,
    LegalHoldOut,
    RecorderOut,
    RecordingPolicyIn,
    RecordingPolicyOut,
    RecordingStatusOut,
    RepairOut,
    ScheduleWindowSchema,
    SegmentOut,
    StorageOut,
    TimelineOut,
    TimeRangeOut,
)
from clearsight.api.security import CurrentUser, Operator
from clearsight.recording.policy import InvalidPolicy, RecordingPolicy, make_policy
from clearsight.recording.records import LegalHoldRecord
from clearsight.recording.thumbnails import ThumbnailError, masked_thumbnail

logger = logging.getLogger(__name__)

router = APIRouter(tags=["recordings"], responses=PROBLEM_RESPONSES)
HoldId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The legal hold's ID.")]
Moment = Annotated[AwareDatetime, Query(description="ISO 8601 with a UTC offset.")]


def _recordings(services: ApiServices) -> RecordingPort:
    if services.recordings is None:
        raise Problem(503, "recording is not available on this platform")
    return services.recordings


def _invalid(detail: str, field: str) -> Problem:
    return Problem(422, detail, type_=VALIDATION_FAILED, title="Request validation failed",
                   extensions={"errors": [{"loc": [field], "msg": detail, "type": "value_error"}]})


async def _known_channel(services: ApiServices, channel_id: int, *, recordings_count: bool = True) -> None:
    """404 unless the channel exists (or, where recordings outlive it, has recordings)."""
    if await services.registry.get_channel(channel_id) is not None:
        return
    if recordings_count and await _recordings(services).has_recordings(channel_id):
        return
    raise Problem(404, f"no channel {channel_id}")


def _policy_out(recordings: RecordingPort, channel_id: int, policy: RecordingPolicy | None) -> RecordingPolicyOut:
    mode = policy.mode if policy is not None else recordings.default_mode
    retention = policy.retention_days if policy is not None else None
    return RecordingPolicyOut(
        channel_id=channel_id, mode=mode.value,
        schedule=[ScheduleWindowSchema.model_validate(w.to_json()) for w in (policy.schedule if policy else ())],
        retention_days=retention, effective_retention_days=retention or recordings.default_retention_days,
        storage=policy.storage if policy is not None else None, is_default=policy is None,
        updated_at=policy.updated_at if policy is not None else None,
        recording_now=recordings.recorder_status(channel_id) is not None)


def _hold_out(hold: LegalHoldRecord) -> LegalHoldOut:
    return LegalHoldOut(id=hold.id, channel_id=hold.channel_id, start=hold.start_at, end=hold.end_at,
                        reason=hold.reason, created_by=hold.created_by, created_at=hold.created_at,
                        active=hold.active, released_at=hold.released_at, released_by=hold.released_by)


# --- policies --------------------------------------------------------------------------------------
@router.get("/channels/{channel_id}/recording-policy")
async def get_recording_policy(services: Services, _access: PlaybackAccess, channel_id: ChannelPk
                               ) -> RecordingPolicyOut:
    """The channel's recording policy; `is_default` when it follows CLEARSIGHT_RECORDING_DEFAULT."""
    recordings = _recordings(services)
    await _known_channel(services, channel_id, recordings_count=False)
    return _policy_out(recordings, channel_id, await recordings.get_policy(channel_id))


@router.put("/channels/{channel_id}/recording-policy")
async def put_recording_policy(services: Services, user: Operator, _access: ManageAccess, channel_id: ChannelPk,
                               body: RecordingPolicyIn) -> RecordingPolicyOut:
    """Set the channel's policy; recording starts or stops within seconds."""
    recordings = _recordings(services)
    await _known_channel(services, channel_id, recordings_count=False)
    try:
        policy = make_policy(channel_id, body.mode, [w.model_dump() for w in body.schedule], body.retention_days,
                             body.storage, storages=recordings.storage_names)
    except InvalidPolicy as exc:
        raise _invalid(str(exc), "body") from exc
    stored = await recordings.set_policy(policy)
    logger.info("channel %d: recording policy set to %s by %s", channel_id, stored.mode.value, user.username)
    return _policy_out(recordings, channel_id, stored)


@router.delete("/channels/{channel_id}/recording-policy")
async def delete_recording_policy(services: Services, user: Operator, _access: ManageAccess,
                                  channel_id: ChannelPk) -> RecordingPolicyOut:
    """Drop the channel's own policy: it follows CLEARSIGHT_RECORDING_DEFAULT again."""
    recordings = _recordings(services)
    await _known_channel(services, channel_id, recordings_count=False)
    if await recordings.delete_policy(channel_id):
        logger.info("channel %d: recording policy reset to the default by %s", channel_id, user.username)
    return _policy_out(recordings, channel_id, None)


# --- timeline and thumbnails -----------------------------------------------------------------------
@router.get("/channels/{channel_id}/recordings")
async def channel_recordings(services: Services, _access: PlaybackAccess, channel_id: ChannelPk, start: Moment,
                             end: Moment) -> TimelineOut:
    """Covered ranges, gaps (with reasons) and segments of the channel within [start, end) (at most 31 days)."""
    recordings = _recordings(services)
    if start >= end:
        raise _invalid("start must be before end", "query")
    if end - start > MAX_TIMELINE_RANGE:
        raise _invalid(f"the range may be at most {MAX_TIMELINE_RANGE.days} days", "query")
    await _known_channel(services, channel_id)
    timeline = await recordings.timeline(channel_id, start, end)
    return TimelineOut(
        channel_id=channel_id, start=start, end=end,
        ranges=[TimeRangeOut(start=r.start_at, end=r.end_at) for r in timeline.ranges],
        gaps=[GapOut(id=g.id, start=g.start_at, end=g.end_at, reason=g.reason) for g in timeline.gaps],
        segments=[SegmentOut(id=s.id, start=s.start_at, end=s.end_at, size=s.size, codec=s.codec,
                             state=s.state.value, storage=s.storage, keyframes=len(s.keyframes))
                  for s in timeline.segments],
        segments_truncated=timeline.segments_truncated,
        recording_now=recordings.recorder_status(channel_id) is not None)


@router.get("/channels/{channel_id}/thumbnails", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}},
                             "description": "The thumbnail nearest to `at`; its moment in `X-Thumbnail-At`."}})
async def channel_thumbnail(services: Services, access: PlaybackAccess, channel_id: ChannelPk,
                            at: Moment) -> Response:
    """The recorded thumbnail nearest to `at` (within 5 minutes), for a timeline's hover; privacy masks
    filled unless the caller may lift them."""
    recordings = _recordings(services)
    await _known_channel(services, channel_id)
    found = await recordings.thumbnail(channel_id, at)
    if found is None:
        raise Problem(404, f"no thumbnail of channel {channel_id} near {at.isoformat()}")
    moment, jpeg = found
    masking = await picture_masking(services, access.user, channel_id)
    if masking.painter is not None:
        try:
            jpeg = await asyncio.to_thread(masked_thumbnail, jpeg, masking.painter)
        except ThumbnailError as exc:  # never hand out an unmasked picture instead
            raise Problem(502, f"thumbnail of channel {channel_id} could not be masked: {exc}") from exc
    cache = "no-store" if masking.masks else "private, max-age=3600"  # no cached copy outlives a mask change
    return Response(jpeg, media_type="image/jpeg", headers={"X-Thumbnail-At": moment.isoformat(),
                                                            "Cache-Control": cache})


# --- legal holds -----------------------------------------------------------------------------------
@router.post("/legal-holds", status_code=201)
async def create_legal_hold(services: Services, user: Operator, body: LegalHoldIn) -> LegalHoldOut:
    """Keep the channel's recordings in [start, end) from retention until the hold is released."""
    recordings = _recordings(services)
    if await services.registry.get_channel(body.channel_id) is not None:
        await check_channel(services, user, Action.MANAGE, body.channel_id)
    elif not await recordings.has_recordings(body.channel_id):
        raise _invalid(f"no channel {body.channel_id}", "body.channel_id")
    elif user.role != Role.ADMINISTRATOR:  # a channel gone from the catalog: no grant scope reaches it
        raise Problem(403, "only administrators may hold recordings of a channel no longer in the catalog")
    hold = await recordings.create_hold(body.channel_id, body.start, body.end, body.reason, user.username)
    return _hold_out(hold)


@router.get("/legal-holds")
async def list_legal_holds(
    services: Services, _user: CurrentUser,
    channel_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    active: Annotated[bool | None, Query(description="Only active (true) or released (false) ones.")] = None,
) -> list[LegalHoldOut]:
    holds = await _recordings(services).list_holds(channel_id=channel_id, active=active)
    return [_hold_out(hold) for hold in holds]


@router.get("/legal-holds/{hold_id}")
async def get_legal_hold(services: Services, _user: CurrentUser, hold_id: HoldId) -> LegalHoldOut:
    hold = await _recordings(services).get_hold(hold_id)
    if hold is None:
        raise Problem(404, f"no legal hold {hold_id}")
    return _hold_out(hold)


@router.delete("/legal-holds/{hold_id}")
async def release_legal_hold(services: Services, user: Operator, hold_id: HoldId) -> LegalHoldOut:
    """Release the hold: it stays listed, with who released it and when; retention may then delete."""
    held = await _recordings(services).get_hold(hold_id)
    if held is not None and await services.registry.get_channel(held.channel_id) is not None:
        await check_channel(services, user, Action.MANAGE, held.channel_id)
    elif held is not None and user.role != Role.ADMINISTRATOR:
        raise Problem(403, "only administrators may release holds of a channel no longer in the catalog")
    try:
        hold = await _recordings(services).release_hold(hold_id, user.username)
    except HoldAlreadyReleased as exc:
        raise Problem(409, str(exc)) from exc
    if hold is None:
        raise Problem(404, f"no legal hold {hold_id}")
    return _hold_out(hold)


# --- status ----------------------------------------------------------------------------------------
@router.get("/recording/status")
async def recording_status(services: Services, _user: Operator) -> RecordingStatusOut:
    """Storage paths (quota, use, free space), the running recorders, and what start-up repair did."""
    status = _recordings(services).status()
    repair = status.repair
    return RecordingStatusOut(
        storages=[StorageOut(name=s.name, quota=s.quota, used=s.used, disk_free=s.disk_free, headroom=s.headroom,
                             over_limits=s.excess > 0) for s in status.storages],
        recorders=[RecorderOut(channel_id=r.channel_id, state=r.state,
                               segment_start=r.segment.start_at if r.segment else None, gap_reason=r.gap_reason,
                               segments_written=r.segments_written, bytes_written=r.bytes_written)
                   for r in status.recorders],
        repair=None if repair is None else RepairOut(
            summary=repair.summary(), open_segments_closed=len(repair.open_segments_closed),
            truncated=len(repair.truncated), missing_files=len(repair.missing_files),
            empty_removed=len(repair.empty_removed), orphans_indexed=len(repair.orphans_indexed),
            orphans_removed=len(repair.orphans_removed), gaps_added=repair.gaps_added,
            gaps_closed=repair.gaps_closed))

