"""Why a request to a device failed; the API turns these into problem details."""

from __future__ import annotations


class DeviceCommandError(Exception):
    """Base: a command to a device could not be carried out."""

    def __init__(self, device_id: str, detail: str) -> None:
        super().__init__(f"device {device_id}: {detail}")
        self.device_id = device_id
        self.detail = detail


class DeviceOffline(DeviceCommandError):
    def __init__(self, device_id: str) -> None:
        super().__init__(device_id, "offline (not registered or keepalives stopped)")


class DeviceTimeout(DeviceCommandError):
    def __init__(self, device_id: str, what: str = "request") -> None:
        super().__init__(device_id, f"no answer to {what}")


class DeviceRejected(DeviceCommandError):
    def __init__(self, device_id: str, status: int, reason: str) -> None:
        super().__init__(device_id, f"answered {status} {reason}")
        self.status = status
