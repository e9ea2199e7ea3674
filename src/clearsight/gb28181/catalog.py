"""Assembling a device's catalog from the chunked Catalog responses to one query (sans-I/O).

A large NVR or lower platform answers a Catalog query with many MESSAGEs, each carrying ``SumNum``
(total items) and a few ``<Item>``s. Over UDP some are lost, some duplicated, and they may arrive out of
order. :class:`CatalogAssembler` collects them for one device and tells when the catalog is complete
or has stalled. Time is passed in by the caller (``now``, seconds from any monotonic clock).
"""

from __future__ import annotations

import logging

from clearsight.gb28181.manscdp_catalog import CatalogChunk, CatalogItem

logger = logging.getLogger(__name__)

DEFAULT_STALL_TIMEOUT = 10.0  # seconds without a chunk before re-querying; GB/T 28181 sets no value


class CatalogMismatch(ValueError):
    """A chunk from another device than the one this assembly is for."""

    def __init__(self, expected_device: str, chunk: CatalogChunk) -> None:
        super().__init__(
            f"catalog chunk from {chunk.device_id} (SN {chunk.sn}) "
            f"fed to the catalog assembly of {expected_device}"
        )
        self.device_id = chunk.device_id
        self.sn = chunk.sn


class CatalogAssembler:
    """Collects the Catalog response chunks of one device for one query (and its re-queries).

    * Items are deduplicated by DeviceID: the first arrival fixes an item's position in
      :attr:`items`, a later copy replaces its content (the newer answer wins).
    * ``SumNum`` may change between chunks (devices add channels mid-answer, or count differently);
      the largest value seen is used and the change logged.
    * A first chunk with ``SumNum`` 0 completes an empty catalog at once.
    * Complete means at least ``SumNum`` distinct items arrived.
    * Chunks of another device raise :class:`CatalogMismatch` (the device is the one given, or else
      the first chunk's). SNs are not checked: routing chunks by SN is the caller's job, and a
      re-query normally carries a new SN.

    GB/T 28181 has no way to ask for one missing chunk: a Catalog query always returns the whole
    catalog. So when :meth:`is_stalled` says the answer stopped short, the caller sends the whole Catalog
    query again, calls :meth:`mark_requery`, and keeps feeding the new answer into this same
    assembler; items already received are merged, not duplicated.

    The stall clock starts at ``now`` when given, else at the first :meth:`add`, :meth:`mark_requery`
    or :meth:`is_stalled` call.
    """

    def __init__(self, device_id: str | None = None, *, now: float | None = None) -> None:
        self.device_id = device_id
        self._items: dict[str, CatalogItem] = {}
        self._sum_num: int | None = None
        self._last_activity = now
        self.chunks_received = 0
        self.duplicate_items = 0
        self.requery_count = 0

    @property
    def sum_num(self) -> int:
        """The total the device announced (largest SumNum seen); 0 before the first chunk."""
        return self._sum_num or 0

    @property
    def received(self) -> int:
        """Distinct items received so far."""
        return len(self._items)

    @property
    def items(self) -> list[CatalogItem]:
        """Distinct items in order of first arrival."""
        return list(self._items.values())

    @property
    def complete(self) -> bool:
        return self._sum_num is not None and self.received >= self._sum_num

    @property
    def missing_count(self) -> int:
        """Items announced but not received (0 before the first chunk and once complete)."""
        return max(self.sum_num - self.received, 0)

    def add(self, chunk: CatalogChunk, now: float) -> None:
        """Merge one chunk; raises :class:`CatalogMismatch` for a chunk of another device."""
        if self.device_id is None:
            self.device_id = chunk.device_id
        elif chunk.device_id != self.device_id:
            raise CatalogMismatch(self.device_id, chunk)
        self.chunks_received += 1
        self._last_activity = now
        if self._sum_num is None:
            self._sum_num = chunk.sum_num
        elif chunk.sum_num != self._sum_num:
            logger.warning(
                "catalog of %s (SN %s): SumNum changed from %d to %d; using %d",
                self.device_id,
                chunk.sn,
                self._sum_num,
                chunk.sum_num,
                max(self._sum_num, chunk.sum_num),
            )
            self._sum_num = max(self._sum_num, chunk.sum_num)
        for item in chunk.items:
            if item.device_id in self._items:
                self.duplicate_items += 1
            self._items[item.device_id] = item
        if self.complete and self.received > self.sum_num:
            logger.info(
                "catalog of %s: %d distinct items, more than SumNum %d",
                self.device_id,
                self.received,
                self.sum_num,
            )
        logger.debug(
            "catalog of %s (SN %s): %d/%d items after chunk %d",
            self.device_id,
            chunk.sn,
            self.received,
            self.sum_num,
            self.chunks_received,
        )

    def is_stalled(self, now: float, timeout: float = DEFAULT_STALL_TIMEOUT) -> bool:
        """True when incomplete and nothing arrived (nor was re-queried) for ``timeout`` seconds."""
        if self._last_activity is None:
            self._last_activity = now
        return not self.complete and now - self._last_activity >= timeout

    def mark_requery(self, now: float) -> None:
        """Record that the whole catalog was queried again; restarts the stall clock."""
        self.requery_count += 1
        self._last_activity = now
        logger.info(
            "catalog of %s: re-query %d, %d of %d items so far",
            self.device_id,
            self.requery_count,
            self.received,
            self.sum_num,
        )
