"""The unified records every platform is normalised into."""

from .fields import CardNumber, Rupiah, UtcDateTime, card_number_error, luhn_valid, utc_iso
from .records import (
    EVENT_KINDS,
    FUNDING_VERDICTS,
    MODES,
    PLATFORMS,
    SETTLEMENT_VERDICTS,
    CourseSchema,
    EventSchema,
    SettlementLineSchema,
    course_schema,
    event_schema,
    first_error,
    load_course,
    settlement_line_schema,
)
from .settlement_lines import load_settlement_line, settlement_columns_valid

__all__ = [
    "EVENT_KINDS",
    "FUNDING_VERDICTS",
    "MODES",
    "PLATFORMS",
    "SETTLEMENT_VERDICTS",
    "CardNumber",
    "CourseSchema",
    "EventSchema",
    "Rupiah",
    "SettlementLineSchema",
    "UtcDateTime",
    "card_number_error",
    "course_schema",
    "event_schema",
    "first_error",
    "load_course",
    "load_settlement_line",
    "luhn_valid",
    "settlement_columns_valid",
    "settlement_line_schema",
    "utc_iso",
]
