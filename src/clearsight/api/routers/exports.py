"""`/api/v1/exports`: evidence exports of recorded video, built in the background, downloaded as a signed zip.

Operators and administrators may export, each channel of the request only under a grant allowing `export`
on it at the time of the request (403 naming the first channel without one; administrators need none).
An export is then seen and downloaded by its creator, administrators and auditors (auditors check what was
exported, why, and that the signed package is what was asked for); to anyone else it answers 404, as if it
did not exist. Requesting an export is audited as `export.create` (with the grant of each channel) and every
download as `export.download`, recorded before the package is handed out.
Channels' privacy masks are burnt in unless the exporter may lift them (decided here, when it is requested;
`masks_applied` / `masks_lifted` in the audit entry; docs/privacy.md).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse

from clearsight.access.policy import Action
from clearsight.access.users import Role
from clearsight.api.auditing import client_address
from clearsight.api.channel_access import check_channel
from clearsight.api.deps import ApiServices, Services
from clearsight.api.export_schemas import ExportCreate, ExportOut, ExportPageOut, SigningKeyOut
from clearsight.api.params import DEFAULT_PAGE_SIZE, Limit, Offset
from clearsight.api.ports import ExportRecord, ExportsPort
from clearsight.api.privacy_masking import export_masking
from clearsight.api.problems import PROBLEM_RESPONSES, VALIDATION_FAILED, Problem
from clearsight.api.security import Operator, RoleRequirement
from clearsight.api.tokens import Principal
from clearsight.audit import AuditAction

logger = logging.getLogger(__name__)

EXPORTS_PATH = "/api/v1/exports"
ZIP_MEDIA_TYPE = "application/zip"

router = APIRouter(prefix="/exports", tags=["exports"], responses=PROBLEM_RESPONSES)
ExportId = Path(pattern=r"^[0-9a-f]{32}$", description="The export's ID.")
ExportReader = Annotated[Principal, Depends(RoleRequirement({Role.ADMINISTRATOR, Role.OPERATOR, Role.AUDITOR}))]


def _exports(services: ApiServices) -> ExportsPort:
    if services.exports is None:
        raise Problem(503, "exports are not available on this platform")
    return services.exports


def _out(record: ExportRecord) -> ExportOut:
    out = ExportOut.model_validate(record)
    if record.state == "done":
        out.download_url = f"{EXPORTS_PATH}/{record.id}/download"
    return out


def _sees_all(user: Principal) -> bool:
    return user.role in (Role.ADMINISTRATOR, Role.AUDITOR)


async def _visible(services: ApiServices, user: Principal, export_id: str) -> ExportRecord:
    record = await _exports(services).get(export_id)
    if record is None or not (_sees_all(user) or record.created_by == user.username):
        raise Problem(404, f"no export {export_id}")
    return record


@router.post("", status_code=202)
async def create_export(request: Request, services: Services, user: Operator, body: ExportCreate,
                        response: Response) -> ExportOut:
    """Queue an export; 202 with the export (pending). Poll `GET /exports/{id}` until it is done or failed."""
    exports = _exports(services)
    errors = [{"loc": ["body", "channels", index], "msg": f"no channel {channel_id}", "type": "unknown_channel"}
              for index, channel_id in enumerate(body.channels)
              if await services.registry.get_channel(channel_id) is None]
    if errors:
        raise Problem(422, "; ".join(str(e["msg"]) for e in errors), type_=VALIDATION_FAILED,
                      title="Request validation failed", extensions={"errors": errors})
    # Each channel under a grant allowing export now; 403 names the first one without.
    grants = {str(channel_id): (await check_channel(services, user, Action.EXPORT, channel_id)).grant_id
              for channel_id in body.channels}
    distinct = set(grants.values())
    masking = await export_masking(services, user, body.channels)
    record = await exports.submit(created_by=user.username, reason=body.reason, channels=body.channels,
                                  start=body.start, end=body.end, watermark=body.watermark,
                                  masks_lifted=masking.may_lift)
    await services.audit.record(AuditAction.EXPORT_CREATE, actor=user.username, target=record.id,
                                client=client_address(request), reason=body.reason,
                                grant=distinct.pop() if len(distinct) == 1 else None,
                                details={"channels": list(body.channels), "start": body.start.isoformat(),
                                         "end": body.end.isoformat(), "watermark": body.watermark,
                                         "masks_applied": masking.applied, "masks_lifted": masking.lifted,
                                         "grants": dict(grants)})
    response.headers["Location"] = f"{EXPORTS_PATH}/{record.id}"
    return _out(record)


@router.get("")
async def list_exports(services: Services, user: ExportReader, offset: Offset = 0,
                       limit: Limit = DEFAULT_PAGE_SIZE) -> ExportPageOut:
    """Newest first: the caller's own exports; an administrator's or auditor's listing holds everyone's."""
    page = await _exports(services).list_exports(created_by=None if _sees_all(user) else user.username,
                                                 offset=offset, limit=limit)
    return ExportPageOut(total=page.total, offset=offset, limit=limit, items=[_out(r) for r in page.items])


@router.get("/signing-key")
async def signing_key(services: Services, user: ExportReader) -> SigningKeyOut:
    """The key export manifests are signed with; give its fingerprint to whoever verifies a package."""
    exports = _exports(services)
    return SigningKeyOut(fingerprint=exports.signing_fingerprint, public_key_pem=exports.signing_public_key_pem)


@router.get("/{export_id}")
async def get_export(services: Services, user: ExportReader, export_id: str = ExportId) -> ExportOut:
    """The export, to its creator, administrators and auditors (404 to anyone else)."""
    return _out(await _visible(services, user, export_id))


@router.get("/{export_id}/download", response_class=FileResponse,
            responses={200: {"content": {ZIP_MEDIA_TYPE: {}}, "description": "The package."}})
async def download_export(request: Request, services: Services, user: ExportReader,
                          export_id: str = ExportId) -> FileResponse:
    """The package: MP4 files, manifest.json, manifest.sig and public_key.pem in one zip; to the creator,
    administrators and auditors. The channels were checked when the export was requested."""
    record = await _visible(services, user, export_id)
    if record.state != "done":
        raise Problem(409, f"export {export_id} is {record.state}, not done")
    path = await _exports(services).package(export_id)
    if path is None:
        raise Problem(410, f"the package of export {export_id} is no longer on the platform")
    await services.audit.record(AuditAction.EXPORT_DOWNLOAD, actor=user.username, target=export_id,
                                client=client_address(request), reason=record.reason,
                                details={"size": record.size, "channels": list(record.channels)})
    logger.info("export %s downloaded by %s", export_id, user.username)
    return FileResponse(path, media_type=ZIP_MEDIA_TYPE, filename=path.name)
