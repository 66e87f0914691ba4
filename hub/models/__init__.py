"""The hub's tables (SQLAlchemy 2). The schema itself is made by migrations/."""

from .base import Base, UtcDateTime, utcnow
from .course import Course, CourseRevision
from .inbox import DELIVERY_STATES, WebhookDelivery
from .incentive import IncentiveEligibility
from .ledger import ACCOUNT_KINDS, LedgerAccount, LedgerPosting, LedgerTransaction
from .order import FUNDING_STATES, Cancellation, Completion, Purchase
from .participant import PARTICIPANT_STATUSES, Participant
from .platform import Platform
from .sync import SYNC_STATES, CatalogueSync, PollState, RejectedEvent

__all__ = [
    "ACCOUNT_KINDS",
    "DELIVERY_STATES",
    "FUNDING_STATES",
    "PARTICIPANT_STATUSES",
    "SYNC_STATES",
    "Base",
    "Cancellation",
    "CatalogueSync",
    "Completion",
    "Course",
    "CourseRevision",
    "IncentiveEligibility",
    "LedgerAccount",
    "LedgerPosting",
    "LedgerTransaction",
    "Participant",
    "Platform",
    "PollState",
    "Purchase",
    "RejectedEvent",
    "UtcDateTime",
    "WebhookDelivery",
    "utcnow",
]
