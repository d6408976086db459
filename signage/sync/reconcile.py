"""Changes read off the copy, for upstreams that tell only the current state.

Some upstreams (Affect IT, UniTime, MyTimetable) have no change statuses: a lesson simply has
another teacher now, or is gone. Their batches are `plain`, and the engine marks each period
against the one its copy holds:
- the planned state is what the copy first saw: its REGULAR and REMOVED references;
- a planned reference still there stays REGULAR, a missing one becomes REMOVED, a new one
  ADDED (so a new teacher is a substitution, a new room a room change); the period is CHANGED;
- a period first seen on a day the copy already covered is ADDITIONAL (an extra lesson); on a
  day new to the copy (the first load, a day the window gained) it is the plan itself;
- a period that vanished from the upstream's window is CANCELLED: the lesson does not take
  place, and the board says so (an extra lesson that vanished is simply gone);
- a note the period had when first seen as the plan is standing information (`text_planned`),
  not a change; a note that differs from it is;
- an upstream that knows a bit of the plan itself (UniTime: the room an event's other meetings
  use) sends it as REMOVED references: they count as planned, never as current.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import replace

from signage.domain.model import (
    ADDED,
    ADDITIONAL,
    CANCELLED,
    CHANGED,
    REGULAR,
    REMOVED,
    Period,
    Ref,
)


def mark(old: Period | None, new: Period, day_known: bool) -> Period:
    """Return `new` (current state, references REGULAR) marked against the copy's `old`."""
    if old is None:
        if day_known and new.status == REGULAR:
            return replace(new, status=ADDITIONAL)
        return replace(new, text_planned=bool(new.text))
    if old.status == ADDITIONAL:
        return replace(new, status=ADDITIONAL if new.status == REGULAR else new.status)
    new = replace(new, text_planned=bool(new.text) and old.text_planned and new.text == old.text)
    refs: dict[str, tuple[Ref, ...]] = {}
    touched = False
    for category in dict.fromkeys([*old.refs, *new.refs]):
        planned = [r.id for r in old.ref_list(category) if r.status != ADDED]
        planned += [r.id for r in new.ref_list(category)
                    if r.status == REMOVED and r.id not in planned]
        current = list(dict.fromkeys(r.id for r in new.ref_list(category) if r.status != REMOVED))
        marked = [Ref(i, REGULAR if i in planned else ADDED) for i in current]
        marked += [Ref(i, REMOVED) for i in planned if i not in current]
        touched |= any(r.status != REGULAR for r in marked)
        if marked:
            refs[category] = tuple(marked)
    status = CHANGED if new.status == REGULAR and touched else new.status
    return replace(new, refs=refs, status=status)


def vanish(old: Period) -> Period | None:
    """Return what a period that vanished upstream becomes: cancelled, or None (gone) when it
    was an extra lesson to begin with."""
    if old.status == ADDITIONAL:
        return None
    return replace(old, status=CANCELLED)
