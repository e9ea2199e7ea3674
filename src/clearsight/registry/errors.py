"""What can go wrong in the registry."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of the registry's errors."""


class UnknownDevice(RegistryError, LookupError):
    """The operation needs a device that is not registered."""

    def __init__(self, device_id: str) -> None:
        super().__init__(f"unknown device {device_id}")
        self.device_id = device_id


class InvalidRegion(RegistryError, ValueError):
    """A region filter that is not a civil-code prefix (2, 4, 6 or 8 digits)."""

    def __init__(self, region: str, reason: str) -> None:
        super().__init__(f"invalid region {region!r}: {reason}")
        self.region = region
        self.reason = reason
