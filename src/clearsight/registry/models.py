"""Persistence models: devices, their channels and groups, the region tree, and users.

Every change here needs a migration in `clearsight/migrations/versions/`; a test compares the migrated
schema with these models. Code outside `registry/` and `access/` reads records (dataclasses), not these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

GB_ID_LENGTH = 20  # GB/T 28181 IDs are 20 digits (some devices use 18)
REGION_CODE_LENGTH = 8  # GB/T 2260 centre code: province, city, county, grass-roots unit, 2 digits each
TEXT_LENGTH = 255  # names, addresses and other free text sent by devices
PARENT_PATH_LENGTH = 255  # ParentID may be a '/'-separated path of IDs

# Named constraints and indexes, so that later migrations (SQLite batch mode included) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite stores it naive; it comes back aware)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every Clearsight table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Device(Base):
    """A registered device or lower platform, keyed by its GB ID."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(GB_ID_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    manufacturer: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    model: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    firmware: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    transport: Mapped[str] = mapped_column(String(8))  # "udp" | "tcp"
    remote_host: Mapped[str] = mapped_column(String(64))
    remote_port: Mapped[int] = mapped_column(Integer)
    password: Mapped[str | None] = mapped_column(String(128))  # overrides the default device password
    online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_keepalive: Mapped[datetime | None] = mapped_column(UtcDateTime)
    channel_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)

    channels: Mapped[list[Channel]] = relationship(
        back_populates="device", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )
    groups: Mapped[list[Group]] = relationship(
        back_populates="device", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )


class Channel(Base):
    """A channel of a device (a camera, an alarm input …) as its catalog describes it."""

    __tablename__ = "channels"
    __table_args__ = (
        UniqueConstraint("device_id", "gb_id"),
        # Region filters are prefix matches (LIKE '3402%'); on PostgreSQL only pattern ops serve them.
        Index(
            "ix_channels_region_code", "region_code", postgresql_ops={"region_code": "varchar_pattern_ops"}
        ),
        # The permission filter (clearsight.access.channel_filter): region subtrees are code ranges and the
        # class bound an IN list, both answered from these indexes (migration 0008).
        Index("ix_channels_region_code_class", "region_code", "channel_class"),
        Index("ix_channels_business_group_class", "business_group_id", "channel_class"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(GB_ID_LENGTH), ForeignKey("devices.id", ondelete="CASCADE"))
    gb_id: Mapped[str] = mapped_column(String(GB_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH), default="", server_default="", index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    model: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    owner: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    civil_code: Mapped[str | None] = mapped_column(String(GB_ID_LENGTH), index=True)
    # The civil code's own node in the region tree (trailing 00 pairs dropped): "34020000" → "3402".
    region_code: Mapped[str | None] = mapped_column(String(REGION_CODE_LENGTH))
    address: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    parental: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    parent_id: Mapped[str | None] = mapped_column(String(PARENT_PATH_LENGTH))
    business_group_id: Mapped[str | None] = mapped_column(String(GB_ID_LENGTH))
    secrecy: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # 0 open, 1 secret
    online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    ptz_type: Mapped[int | None] = mapped_column(Integer)  # 1 dome, 2 half-dome, 3 fixed, 4 remote-controlled
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)
    # Access control (clearsight.access, docs/access.md): set by administrators, never by a catalog.
    channel_class: Mapped[str] = mapped_column(String(16), default="public", server_default="public")
    owner_department_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )

    device: Mapped[Device] = relationship(back_populates="channels", lazy="raise")


class Region(Base):
    """A node of the administrative region tree (GB/T 2260): 2, 4, 6 or 8 digits."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(REGION_CODE_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH))
    parent_code: Mapped[str | None] = mapped_column(String(REGION_CODE_LENGTH), index=True)
    level: Mapped[str] = mapped_column(String(16))  # province | city | county | unit


class Group(Base):
    """A business group (type 215) or virtual organisation (type 216) from a device's catalog."""

    __tablename__ = "catalog_groups"
    __table_args__ = (UniqueConstraint("device_id", "gb_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(GB_ID_LENGTH), ForeignKey("devices.id", ondelete="CASCADE"))
    gb_id: Mapped[str] = mapped_column(String(GB_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(16))  # "business_group" | "virtual_org"
    parent_id: Mapped[str | None] = mapped_column(String(PARENT_PATH_LENGTH))
    business_group_id: Mapped[str | None] = mapped_column(String(GB_ID_LENGTH))

    device: Mapped[Device] = relationship(back_populates="groups", lazy="raise")


class Department(Base):
    """An organisation whose users share grants (public security, traffic, …), with its home region."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(TEXT_LENGTH), unique=True)
    # Channels in this region subtree belong to the department unless a channel names another owner.
    home_region_code: Mapped[str | None] = mapped_column(String(REGION_CODE_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class User(Base):
    """A person who signs in to the platform."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # administrator | operator | viewer | auditor | maintainer
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # None only for users outside every department (the first administrator).
    department_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
