"""Telling the fetch loop's own cancellation from a cancelled future met inside a batch."""

from __future__ import annotations

import asyncio

from streams.ingest import stopping


def test_a_cancelled_future_awaited_inside_a_batch_is_not_a_shutdown() -> None:
    async def batch() -> bool:
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.cancel()
        try:
            await sent
        except asyncio.CancelledError:
            return stopping()
        raise AssertionError("awaiting a cancelled future raises")

    assert asyncio.run(batch()) is False


def test_a_fetch_loop_cancelled_from_outside_is_stopping() -> None:
    seen: list[bool] = []

    async def fetch_loop() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append(stopping())
            raise

    async def main() -> None:
        task = asyncio.ensure_future(fetch_loop())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert seen == [True]
