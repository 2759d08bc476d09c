"""The per-destination startup gate: at most N connects before authentication, first come
first served, and a place is never lost (cancelled waiters, double releases, lost SYNs)."""

from __future__ import annotations

import asyncio

from termkeep.transport.admission import StartupGate, startup_gate


async def test_places_are_limited_and_handed_over_in_order() -> None:
    gate = StartupGate(limit=2)
    first, second = await gate.enter(), await gate.enter()
    order: list[str] = []

    async def wait(name: str) -> None:
        ticket = await gate.enter()
        order.append(name)
        ticket.release()

    waiters = [asyncio.create_task(wait(name)) for name in ("a", "b", "c")]
    await asyncio.sleep(0)
    assert order == []  # both places taken
    first.release()
    first.release()  # a second release gives nothing back twice
    await asyncio.gather(*waiters)
    assert order == ["a", "b", "c"]
    assert gate.holding == 1  # only ``second`` is still held
    second.release()
    assert gate.holding == 0


async def test_a_waiter_cancelled_as_its_turn_comes_passes_the_place_on() -> None:
    gate = StartupGate(limit=1)
    held = await gate.enter()
    abandoned = asyncio.create_task(gate.enter())
    behind = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    held.release()  # the place goes to ``abandoned``...
    abandoned.cancel()  # ...which is cancelled before it runs again
    ticket = await asyncio.wait_for(behind, timeout=5)
    assert abandoned.cancelled()
    ticket.release()
    assert gate.holding == 0


async def test_a_connect_whose_syn_is_not_answered_gives_its_place_back() -> None:
    gate = StartupGate(limit=1)
    lost_syn = await gate.enter()
    lost_syn.release_unless_connected(within=0.01)
    connected = await asyncio.wait_for(gate.enter(), timeout=5)
    connected.release_unless_connected(within=0.01)
    connected.connected()  # the handshake came in time: the place stays taken
    await asyncio.sleep(0.05)
    assert gate.holding == 1
    connected.release()
    lost_syn.release()  # late, and harmless
    assert gate.holding == 0


async def test_one_gate_per_destination() -> None:
    assert startup_gate("Box.example", 22) is startup_gate("box.example", 22)
    assert startup_gate("box.example", 22) is not startup_gate("box.example", 2222)
