"""Query and path parameters shared by the listing routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_NAME_FILTER = 64
MAX_DEVICE_ID = 64  # GB/T 28181 IDs are 20 digits; some devices register longer, non-standard ones
MAX_CHANNEL_PK = 2**63 - 1  # a surrogate key is a signed 64-bit column

Offset = Annotated[int, Query(ge=0, description="Number of matches to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")]
OnlineFilter = Annotated[bool | None, Query(description="Only online (true) or offline (false) ones.")]
NameFilter = Annotated[
    str | None, Query(min_length=1, max_length=MAX_NAME_FILTER, description="Name contains this text.")
]
RegionFilter = Annotated[
    str | None,
    Query(
        pattern=r"^(?:[0-9]{2}){1,4}$",
        description="Civil-code prefix of 2, 4, 6 or 8 digits; matches the region and its subregions.",
    ),
]
DeviceIdFilter = Annotated[str | None, Query(min_length=1, max_length=MAX_DEVICE_ID)]

DeviceId = Annotated[str, Path(min_length=1, max_length=MAX_DEVICE_ID, description="Device GB/T 28181 ID.")]
ChannelPk = Annotated[int, Path(ge=1, le=MAX_CHANNEL_PK, description="Channel surrogate key (`id`).")]
