"""Persistence model of device admission: device IDs that tried to register without being in the registry.

A row is a device held for approval (`pending`) or refused for good (`rejected`); an approved device gets
its `devices` row and loses this one. Every change here needs a migration in `clearsight/migrations/versions/`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clearsight.registry.models import GB_ID_LENGTH, TEXT_LENGTH, Base, UtcDateTime

USERNAME_LENGTH = 64


class DeviceAdmission(Base):
    """An unknown device's registration attempts, and what an administrator decided about it."""

    __tablename__ = "device_admissions"

    device_id: Mapped[str] = mapped_column(String(GB_ID_LENGTH), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | rejected
    transport: Mapped[str] = mapped_column(String(8))  # of the latest attempt: "udp" | "tcp"
    remote_host: Mapped[str] = mapped_column(String(64))
    remote_port: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    attempts: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
