"""`GET /api/v1/regions`: the nested region tree."""

from __future__ import annotations

import httpx


async def test_region_tree_is_nested(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    response = await client.get("/api/v1/regions", headers=viewer)

    assert response.status_code == 200
    assert response.json() == [
        {
            "code": "34",
            "name": "Anhui",
            "level": "province",
            "channel_count": 1,
            "online_count": 1,
            "children": [
                {
                    "code": "3402",
                    "name": "Wuhu",
                    "level": "city",
                    "channel_count": 1,
                    "online_count": 1,
                    "children": [],
                }
            ],
        }
    ]
