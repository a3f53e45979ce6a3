"""Questions a lower layer asks and higher layers answer, as blinker signals (Indico's pattern).

Layers point down (see the README's design notes): the lesson may not import sharing, and sharing may
not import coaching or communities. When a lower module needs to know something only a higher one
knows, it sends one of these signals and the higher module's receiver answers; with no receiver
connected the answer is empty, so a missing module fails closed (nobody but the owner reaches a lesson).

Receivers are connected when their module is imported (create_app imports every module; so does
`app.models`). Each signal's doc says who sends it, what is passed and what a receiver returns.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace

_signals = Namespace()

lesson_rights = _signals.signal("lesson-rights", doc="""\
Sent by the lesson's policy (app.video.policy) with sender=actor, video=, clip= (None for the whole lesson).
A receiver returns the set of rights ({'view', 'comment'}) it grants the actor beyond ownership.""")

reachable_lessons = _signals.signal("reachable-lessons", doc="""\
Sent by the lesson's policy with sender=actor, clips= (False: lessons, True: clips shared on their own).
A receiver returns a SELECT of the video ids (or clip ids) the actor reaches beyond ownership.""")

coached_teachers = _signals.signal("coached-teachers", doc="""\
Sent by sharing with sender=actor. A receiver returns a SELECT of the ids of the teachers whose active
coach the actor is (their coach reaches their lessons even without the class's full consent).""")

active_coaches = _signals.signal("active-coaches", doc="""\
Sent by sharing with sender=session, teacher_id=. A receiver returns the set of user ids that are this
teacher's active coaches.""")

member_communities = _signals.signal("member-communities", doc="""\
Sent by sharing with sender=actor. A receiver returns a SELECT of the ids of the communities the actor
belongs to.""")

community_for_sharing = _signals.signal("community-for-sharing", doc="""\
Sent by sharing with sender=session, actor=, public_id=. A receiver returns the community with this public
id if the actor may share into it, else None.""")

teacher_summary_readers = _signals.signal("teacher-summary-readers", doc="""\
Sent by feedback's tag summaries with sender=actor, teacher=. A receiver returns True when the actor may
read this teacher's tag summary (the teacher themselves always may).""")

transcript_corrected = _signals.signal("transcript-corrected", doc="""\
Sent by the lesson (app.video.service) with sender=session, video= when a person corrects its transcript. A
receiver asks for whatever it derived from the transcript to be made again (lesson analytics); it returns None.""")


def answers(signal, sender: Any, **kwargs: Any) -> list[Any]:
    """The non-None answers of every receiver, in connection order."""
    return [value for _receiver, value in signal.send(sender, **kwargs) if value is not None]
