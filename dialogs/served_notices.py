"""The notices one engine serves, each with its campaign, its forms and their machines, and which of
them a unit's contact works in.

A unit picked by one notice sees the service as it always was. A unit picked by several sees each
notice's forms in 新建 under the notice's name, and 草稿 and 已交 across them; a turn belongs to the
notice of the draft in hand, else to the unit's notice nearest its deadline (``dialogs.turn``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from dialogs.campaign import Campaign
from dialogs.catalogue import Notice, NoticeState
from dialogs.declarations import FormDecl
from state_machines.form_machine import FormMachine

#: The states of a notice its units still work in: 新建 may say a task is closed, 已交 still lists.
SERVED_STATES = (NoticeState.OPEN, NoticeState.CLOSED)


@dataclass(frozen=True)
class ServedNotice:
    """A notice as the engine serves it: its campaign, its forms by id, one machine per form."""

    campaign: Campaign
    forms: dict[str, FormDecl]
    machines: dict[str, FormMachine]

    @property
    def id(self) -> str:
        return self.campaign.id

    @property
    def title(self) -> str:
        """Its name as people read it in a list of several (《2021年全区“破难行动”示范点建设》)."""
        return f"《{self.campaign.name}》"

    def state(self, now: datetime) -> NoticeState:
        return Notice(self.campaign, self.forms, self.campaign.id).state(now)

    def picks(self, unit_code: str) -> bool:
        return any(unit.code == unit_code for unit in self.campaign.units)

    def nearness(self, now: datetime) -> tuple[int, str]:
        """A sort key: the notice with the nearest deadline still to come first, past ones last."""
        upcoming = Notice(self.campaign, self.forms, self.campaign.id).next_deadline(now)
        return (upcoming.toordinal() if upcoming is not None else 10**9, self.campaign.id)


#: Which notice stands first when one must: one collecting now, then one past its deadlines, then one
#: not yet open, then one archived.
_STATE_RANK = {NoticeState.OPEN: 0, NoticeState.CLOSED: 1, NoticeState.DRAFT: 2, NoticeState.ARCHIVED: 3}


def nearest(notices: Iterable[ServedNotice], now: datetime) -> ServedNotice:
    """The notice nearest its deadline among those collecting now (the only one, when there is one)."""
    return min(notices, key=lambda notice: (_STATE_RANK[notice.state(now)], notice.nearness(now)))


def notices_of_unit(
    notices: Iterable[ServedNotice], unit_code: str, now: datetime
) -> tuple[ServedNotice, ...]:
    """The notices that pick a unit and are served now, nearest its deadline first."""
    picked = [n for n in notices if n.picks(unit_code) and n.state(now) in SERVED_STATES]
    return tuple(sorted(picked, key=lambda notice: notice.nearness(now)))
