"""Forms left unsaved by the last session, offered back at start.

Drafts are files beside the database (:mod:`visitlog.store.drafts`).  A draft whose
record was stored after all (the app died between storing it and removing
the draft) is dropped instead of offered; drafts older versions kept in the
database are moved to the files first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import Draft, DraftBox, Store


class DraftOffers:
    """Mixin of the app: asks about each draft left behind, newest first."""

    store: Store
    drafts: DraftBox

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._old_drafts_adopted = False

    def _offer_drafts(self, skip: Iterable[str] = ()) -> None:
        skipped = set(skip)
        if not self._old_drafts_adopted:
            self._old_drafts_adopted = True
            self._adopt_old_drafts()
        drafts = [
            d for d in self.drafts.list() if d.id not in skipped and not self.draft_was_saved(d)
        ]
        if not drafts:
            return
        from visitlog.tui.screens.confirm import ChoiceDialog

        draft = drafts[-1]
        data = draft.data
        when = draft.updated_at[:16].replace("T", " ")
        address = str(data.get("address") or "")
        if draft.kind == "visit":
            what = t("tui.draft.visit", address=address)
        else:
            what = t("tui.draft.household", address=address)

        def answer(choice: str | None) -> None:
            if choice == "restore":
                self._restore_draft(draft)
            elif choice == "discard":
                with contextlib.suppress(VisitlogError):
                    self.drafts.discard(draft.id)
                self._offer_drafts(skipped)
            else:
                self._offer_drafts(skipped | {draft.id})

        self.push_screen(
            ChoiceDialog(
                t("tui.draft.title"),
                t("tui.draft.body", what=what, when=when),
                [
                    ("restore", t("tui.draft.restore")),
                    ("discard", t("tui.draft.discard")),
                    ("later", t("tui.draft.later")),
                ],
            ),
            answer,
        )

    def _adopt_old_drafts(self) -> None:
        """Move drafts older versions kept in the database to the draft files."""
        try:
            old = self.store.drafts()
        except VisitlogError:
            return
        if not old:
            return
        try:
            ids = self.drafts.adopt(old)
        except VisitlogError:
            return  # kept where they are; offered again next time

        def forget(store: Store) -> None:
            for draft_id in ids:
                store.discard_draft(draft_id)

        self.write(forget)

    def draft_was_saved(self, draft: Draft) -> bool:
        """Was this draft's record stored after all (the app died just after the save)?

        Such a draft is dropped instead of offered, so nothing is saved twice.
        """
        data = draft.data
        try:
            if draft.kind == "visit" and data.get("visit_id"):
                self.store.get_visit(str(data["visit_id"]))
            elif draft.kind == "household" and data.get("household_id"):
                self.store.get_household(str(data["household_id"]))
            else:
                return False
        except VisitlogError:  # not found (or unreadable): not saved
            return False
        with contextlib.suppress(VisitlogError):
            self.drafts.discard(draft.id)
        return True

    def _restore_draft(self, draft: Draft) -> None:
        from visitlog.tui.screens.household_form import HouseholdFormScreen
        from visitlog.tui.screens.visit_form import VisitFormScreen

        data = draft.data
        if draft.kind == "visit":
            household = {
                "id": data.get("household_id"),
                "address": data.get("address"),
                "head": data.get("head"),
            }
            self.push_screen(VisitFormScreen(household, draft=data), self._visit_saved)
        else:
            self.push_screen(
                HouseholdFormScreen(
                    self._grid_names(), self.my_grid(), self.grid_communities(), draft=data
                ),
                self._household_saved,
            )
