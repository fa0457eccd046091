"""The duplicate review screen: pairs side by side, m merge, x not a duplicate, u undo."""

from __future__ import annotations

import datetime as dt

from textual.command import CommandList, CommandPalette

from visitlog.model import Household
from visitlog.tui.app import make_app
from visitlog.tui.screens.dedup_review import DedupReviewScreen

TODAY = dt.date(2026, 11, 27)


def _households(store) -> dict[str, str]:
    store.init_identity("王丽华", "laptop-1", "曹杨一村1号网格")

    def add(address, head=None, phone=None):
        h = Household(address=address, micro_grid="曹杨一村1号网格", head=head, phone=phone)
        return store.add_household(h).id

    return {
        # A clear duplicate (same phone) and a doubtful one (a spouse, no phone).
        "a": add("曹杨一村12号301室", "王建国", "13812345678"),
        "a2": add("普陀区曹杨一村十二号301室", "王建国", "+86 138 1234 5678"),
        "c": add("曹杨一村14号502室", "赵桂英", "13900001111"),
        "c2": add("曹杨一村14号502", "钱志明"),
    }


async def _open(pilot, app, wait_for) -> DedupReviewScreen:
    await wait_for(pilot, lambda: app.screen.query("#households"), "the home screen")
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    await pilot.press(*"去重核对")
    await wait_for(
        pilot,
        lambda: (
            app.screen.query_one(CommandList).option_count > 0
            and app.screen.query_one(CommandList).highlighted is not None
        ),
        "the command found",
    )
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DedupReviewScreen) and app.screen.loaded,
        "the pairs found",
    )
    return app.screen


def _status(screen) -> str:
    return str(screen.query_one("#dedup-status").render())


async def test_review_from_the_palette_merge_undo_and_not_a_duplicate(store, wait_for):
    await _review_merge_undo_distinct(store, wait_for)


async def _review_merge_undo_distinct(store, wait_for):
    ids = _households(store)
    app = make_app(store, lang="zh", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, app, wait_for)
        assert len(screen.pairs) == 2
        # The pair for a person to decide comes first, then what --apply merges.
        first = screen.pairs[0]
        assert {first.a, first.b} == {ids["c"], ids["c2"]}
        assert "第 1/2 对" in _status(screen)
        assert {"head", "phone"} <= screen.differ and "address" not in screen.differ
        await pilot.press("n")
        assert {screen.current().a, screen.current().b} == {ids["a"], ids["a2"]}
        # Spellings of one address are not a difference; the phones are equal too.
        assert screen.differ == set()

        await pilot.press("m")
        await wait_for(pilot, lambda: len(screen.pairs) == 1, "the pair merged")
        assert len(store.list_households()) == 3
        await pilot.press("u")
        await wait_for(pilot, lambda: len(screen.pairs) == 2, "the merge undone")
        assert len(store.list_households()) == 4 and screen.index == 1

        await pilot.press("p")
        await pilot.press("x")
        await wait_for(pilot, lambda: len(screen.pairs) == 1, "marked not a duplicate")
        assert store.scalar("SELECT count(*) FROM dedup_decisions WHERE deleted = 0") == 1
        assert [(p.a, p.b) for p in screen.pairs] == [tuple(sorted((ids["a"], ids["a2"])))]
        await pilot.press("u")
        await wait_for(pilot, lambda: len(screen.pairs) == 2, "the decision undone")
        assert store.scalar("SELECT count(*) FROM dedup_decisions WHERE deleted = 0") == 0

        await pilot.press("u")  # nothing left to undo: a warning, no change
        await wait_for(
            pilot, lambda: any("没有可撤销" in n.message for n in app._notifications), "the warning"
        )
        assert len(store.list_households()) == 4
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DedupReviewScreen), "closed")


async def test_review_with_nothing_to_review(store, wait_for):
    await _nothing_to_review(store, wait_for)


async def _nothing_to_review(store, wait_for):
    store.init_identity("王丽华", "laptop-1", "曹杨一村1号网格")
    store.add_household(Household(address="曹杨一村12号301室", micro_grid="曹杨一村1号网格"))
    app = make_app(store, lang="zh", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, app, wait_for)
        assert screen.pairs == []
        assert "没有待核对的重复住户" in _status(screen)
        await pilot.press("m", "x")  # nothing to act on: no error, no change
        await wait_for(pilot, lambda: app.writes_pending == 0, "nothing written")
        assert store.scalar("SELECT count(*) FROM dedup_merges") == 0


async def test_review_shows_the_alias_a_pair_uses_and_k_confirms_it(store, wait_for):
    await _alias_confirmed(store, wait_for)


async def _alias_confirmed(store, wait_for):
    store.init_identity("王丽华", "laptop-1", "曹杨一村1号网格")

    def add(address, head=None, phone=None, estate=None):
        h = Household(
            address=address, micro_grid="曹杨一村1号网格", head=head, phone=phone, estate=estate
        )
        return store.add_household(h).id

    # The 小区 column beside a road and lane teaches 花溪路45弄 = 曹杨一村.
    add("花溪路45弄3号101室", "李秀珍", "13900002222", estate="曹杨一村")
    a = add("曹杨一村12号301室", "王建国", "13812345678")
    b = add("花溪路45弄12号301室", "王建国", "13812345678")
    app = make_app(store, lang="zh", today=TODAY)
    async with app.run_test(size=(80, 40)) as pilot:
        screen = await _open(pilot, app, wait_for)
        assert {screen.current().a, screen.current().b} == {a, b}
        shown = str(screen.query_one("#dedup-aliases").render())
        assert "花溪路45弄 = 曹杨1村" in shown and "学到的" in shown
        await pilot.press("k")
        await wait_for(
            pilot,
            lambda: store.scalar("SELECT count(*) FROM address_aliases WHERE deleted = 0") == 1,
            "the alias confirmed",
        )
        row = store.query("SELECT alias, target, status FROM address_aliases")[0]
        assert (row["alias"], row["target"], row["status"]) == (
            "花溪路45弄",
            "曹杨1村",
            "confirmed",
        )
        await wait_for(
            pilot, lambda: "已确认" in str(screen.query_one("#dedup-aliases").render()), "shown"
        )
