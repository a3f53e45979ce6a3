"""Imports every module's models so that Base.metadata is complete (Alembic, tests)."""

from app.accounts.models import ApiToken, DataExport, Organization, User  # noqa: F401
from app.coaching.models import CoachingCycle, CoachLink, CycleLesson  # noqa: F401
from app.communities.models import Community, CommunityMember  # noqa: F401
from app.diagnostics.models import (  # noqa: F401
    Answer,
    Assignment,
    AssignmentItem,
    ClassGroup,
    Diagnostic,
    Item,
    Misconception,
    Student,
    Submission,
)
from app.notifications.models import Notification  # noqa: F401
from app.video.models import (  # noqa: F401
    Asset,
    AuditEvent,
    Clip,
    Comment,
    ObservationFramework,
    Segment,
    Share,
    Transcript,
    Upload,
    Video,
)
