"""Query and path parameters shared by the listing routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_NAME_FILTER = 64
MAX_DEVICE_ID = 64  # GB/T 28181 IDs are 20 digits; some devices register longer, non-standard ones
MAX_ROW_KEY = 2**31 - 1  # surrogate keys are INTEGER columns (32-bit on PostgreSQL); larger numbers name no row
MAX_CHANNEL_PK = MAX_ROW_KEY
MAX_OFFSET = 2**31 - 1
MAX_CURSOR = 256  # an encoded (device ID, GB ID) pair

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Number of matches to skip.")]
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
Cursor = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_CURSOR,
          description="Continue after the page that answered this `next_cursor` (instead of `offset`)."),
]
CountMatches = Annotated[
    bool | None,
    Query(description="Count every match (`total`). Default: true without `cursor`, false with one; false on "
                      "the first page saves the count (an `offset` page after the first always counts)."),
]
DeviceIdFilter = Annotated[str | None, Query(min_length=1, max_length=MAX_DEVICE_ID)]

DeviceId = Annotated[str, Path(min_length=1, max_length=MAX_DEVICE_ID, description="Device GB/T 28181 ID.")]
RowKey = Annotated[int, Field(ge=1, le=MAX_ROW_KEY)]
"""A surrogate key in a request body."""
RowKeyFilter = Annotated[int | None, Query(ge=1, le=MAX_ROW_KEY)]

ChannelPk = Annotated[int, Path(ge=1, le=MAX_CHANNEL_PK, description="Channel surrogate key (`id`).")]
