"""Course search: one service behind the participants' /courses page and the
public GET /api/v1/courses (see docs/courses.md).

- :mod:`hub.search.indonesian` turns text into words and each word into the
  stems it may have (Indonesian affixes), the same way for the catalogue and
  for a query;
- :mod:`hub.search.trigram` is pg_trgm's similarity, for typos on SQLite;
- :mod:`hub.search.index` keeps a course's search columns, its group key and
  the vocabulary of indexed terms up to date;
- :mod:`hub.search.service` answers a search: filters, full text, typos,
  grouping of the same course across platforms, sorting and pages.
"""
