"""The hub's tables (SQLAlchemy 2). The schema itself is made by migrations/."""

from .base import Base, UtcDateTime, utcnow
from .course import Course, CourseRevision
from .inbox import DELIVERY_STATES, WebhookDelivery
from .incentive import IncentiveEligibility
from .ledger import ACCOUNT_KINDS, LedgerAccount, LedgerPosting, LedgerTransaction
from .oauth import (
    OAUTH_SCOPES,
    IdempotentRequest,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthClientSecret,
    OAuthToken,
    OutboxMessage,
    ParticipantLink,
    SignInCode,
)
from .order import FUNDING_STATES, Cancellation, Completion, Purchase
from .participant import PARTICIPANT_STATUSES, Participant
from .platform import Platform
from .settlement import (
    BREAK_STATES,
    PERIOD_SOURCES,
    RUN_STATES,
    SETTLEMENT_VERDICTS,
    SettlementBreak,
    SettlementClaim,
    SettlementRun,
)
from .staff import STAFF_ROLES, StaffAccount
from .sync import SYNC_STATES, CatalogueSync, PollState, RejectedEvent

__all__ = [
    "ACCOUNT_KINDS",
    "BREAK_STATES",
    "DELIVERY_STATES",
    "FUNDING_STATES",
    "OAUTH_SCOPES",
    "PARTICIPANT_STATUSES",
    "PERIOD_SOURCES",
    "RUN_STATES",
    "SETTLEMENT_VERDICTS",
    "STAFF_ROLES",
    "SYNC_STATES",
    "Base",
    "Cancellation",
    "CatalogueSync",
    "Completion",
    "Course",
    "CourseRevision",
    "IdempotentRequest",
    "IncentiveEligibility",
    "LedgerAccount",
    "LedgerPosting",
    "LedgerTransaction",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthClientSecret",
    "OAuthToken",
    "OutboxMessage",
    "Participant",
    "ParticipantLink",
    "Platform",
    "PollState",
    "Purchase",
    "RejectedEvent",
    "SettlementBreak",
    "SettlementClaim",
    "SettlementRun",
    "SignInCode",
    "StaffAccount",
    "UtcDateTime",
    "WebhookDelivery",
    "utcnow",
]
