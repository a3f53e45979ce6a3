"""Imports every module's models so that Base.metadata is complete (Alembic, tests)."""

# Every module's rules too: the lower layers ask higher ones through signals (app.signals), whose receivers
# are connected when their policy module is imported. Whoever imports the models gets complete authorization.
from app.accounts import policy as _accounts_policy  # noqa: F401, E402
from app.accounts.models import ApiToken, DataExport, Organization, User  # noqa: F401
from app.analytics import policy as _analytics_policy  # noqa: F401, E402
from app.analytics.models import LessonAnalysis, LessonMarker, SpeakerTurn  # noqa: F401
from app.coaching import policy as _coaching_policy  # noqa: F401, E402
from app.coaching.models import CoachingCycle, CoachLink, CycleLesson  # noqa: F401
from app.communities import policy as _communities_policy  # noqa: F401, E402
from app.communities.models import Community, CommunityMember  # noqa: F401
from app.diagnostics import policy as _diagnostics_policy  # noqa: F401, E402
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
    Topic,
)
from app.feedback import policy as _feedback_policy  # noqa: F401, E402
from app.feedback.models import Comment, ObservationFramework  # noqa: F401
from app.goals import policy as _goals_policy  # noqa: F401, E402
from app.goals.models import (  # noqa: F401
    Area,
    CoachRound,
    PrincipalPair,
    PrincipalSession,
    RoundAttendance,
    SessionAction,
    Step,
    Target,
    Value,
    ValueImport,
)
from app.meetings import policy as _meetings_policy  # noqa: F401, E402
from app.meetings.models import Attendance, Meeting, MeetingResponse, MeetingStep, NextStep, Protocol  # noqa: F401
from app.notifications import policy as _notifications_policy  # noqa: F401, E402
from app.notifications.models import Notification  # noqa: F401
from app.plans import policy as _plans_policy  # noqa: F401, E402
from app.plans.models import (  # noqa: F401
    Activity,
    GoalActivity,
    LearningPlan,
    PlanChange,
    PlanGoal,
    PlanMember,
    Prerequisite,
)
from app.rehearsals import policy as _rehearsals_policy  # noqa: F401, E402
from app.rehearsals.models import Attempt, AttemptShare, RehearsalGroup, RubricScore, Scenario  # noqa: F401
from app.sharing import policy as _sharing_policy  # noqa: F401, E402
from app.sharing.models import AuditEvent, Share  # noqa: F401
from app.standards import policy as _standards_policy  # noqa: F401, E402
from app.standards.models import (  # noqa: F401
    AssessorTraining,
    Certificate,
    Cohort,
    CohortMember,
    CohortSession,
    CredentialKey,
    Portfolio,
    PortfolioEntry,
    Score,
    SessionAttendance,
)
from app.video import policy as _video_policy  # noqa: F401, E402
from app.video.models import Asset, Clip, Segment, Transcript, Upload, Video  # noqa: F401
