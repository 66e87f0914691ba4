"""Words and stems of Indonesian text, for search.

A small rule-based stemmer of our own (no dictionary): it does not try to
find *the* root of a word, only the few roots the word may have, and a course
matches a query word when they share one. "pemasaran" (pe-m-asar-an) and
"memasarkan" (me-m-asar-kan) both give "pasar", so either finds the other and
a query "pasar" finds both. The same function is applied to the catalogue
(when a course is stored) and to the query, so the two always agree.

Rules (Tala's and Nazief-Adriani's affixes, kept modest):

- particles ``-lah -kah -tah -pun``, possessives ``-nya -ku -mu``, then one
  derivational suffix ``-kan``, ``-an`` or ``-i``;
- prefixes ``di- ke- ter- ber- per- me- pe-`` with the nasal forms
  ``meng- meny- mem- men-`` / ``peng- peny- pem- pen-``, whose dropped first
  letter is restored as each candidate (``menulis`` gives ``tulis``,
  ``mengirim`` gives ``kirim``, ``menyapu`` gives ``sapu``), and a second
  prefix after the first (``memper-``, ``diper-``, ``keber-``, ``pember-``);
  ``ke-...-an`` is ``ke-`` and ``-an``.

Every word keeps its own form as a candidate; derived candidates shorter than
:data:`MIN_STEM` letters are dropped (so "kelas" does not give "las").
Words with digits, and words shorter than four letters, are left as they are.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MIN_STEM = 4
"""The shortest derived stem kept: most Indonesian roots have two syllables."""
MAX_WORD = 40
"""Longer words are cut: nothing in a catalogue is longer, and it bounds the work."""

VOWELS = frozenset("aeiou")
PARTICLES = ("lah", "kah", "tah", "pun")
POSSESSIVES = ("nya", "ku", "mu")
DERIVATIONAL = ("kan", "an", "i")

STOP_WORDS = frozenset(
    {"yang", "dan", "di", "ke", "dari", "untuk", "dengan", "atau", "pada", "dalam", "bagi", "kursus",
     "pelatihan", "the", "and", "for", "of", "to", "in", "course", "training"}
)  # fmt: skip
"""Words a query may have that say nothing about the course ("kursus menjahit"):
left out of a query unless the query has nothing else."""

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """The words of ``text``: lower case, accents and apostrophes dropped
    ("Da'i" is "dai"), split on anything but a-z and 0-9."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return [word[:MAX_WORD] for word in _WORD.findall(_APOSTROPHES.sub("", plain))]


def normalised(text: str) -> str:
    """``text`` as its words joined by single spaces ("Menjahit  Busana-Dasar" is
    "menjahit busana dasar")."""
    return " ".join(words(text))


@lru_cache(maxsize=65536)
def candidates(word: str) -> tuple[str, ...]:
    """The forms of ``word`` (one word of :func:`words`) that search matches on:
    the word itself and the stems it may have, sorted."""
    if len(word) < MIN_STEM or not word.isalpha():
        return (word,)
    found = {word}
    for base in _without_suffixes(word):
        found.add(base)
        for first in _without_prefix(base):
            found.add(first)
            found.update(_without_prefix(first))
    return tuple(sorted(form for form in found if form == word or len(form) >= MIN_STEM))


def _strip(word: str, suffix: str) -> str | None:
    if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
        return word[: -len(suffix)]
    return None


def _without_suffixes(word: str) -> list[str]:
    """``word`` with none, some or all of its suffixes removed (outermost first)."""
    forms = [word]
    current = word
    for group in (PARTICLES, POSSESSIVES):
        for suffix in group:
            stripped = _strip(current, suffix)
            if stripped is not None:
                current = stripped
                forms.append(current)
                break
    for form in list(forms):
        for suffix in DERIVATIONAL:
            if form.endswith(suffix):
                stripped = _strip(form, suffix)
                if stripped is not None:
                    forms.append(stripped)
                if suffix != "kan":  # "-kan" may also be a root's "k" and "-an" (perbaik-an)
                    break
    return forms


def _nasal(rest: str, letter: str) -> list[str]:
    """The roots behind a nasal prefix's remainder ``rest`` (``mem``/``pem`` + ``asar``):
    ``rest`` and, where the root's first letter assimilated, ``letter + rest``."""
    return [rest, letter + rest]


def _without_prefix(word: str) -> list[str]:
    """The words ``word`` may be with one prefix removed (none when it has no prefix)."""
    if len(word) <= MIN_STEM:
        return []
    head, out = word[:4], []
    if head in ("meng", "peng"):
        rest = word[4:]
        out = _nasal(rest, "k") if rest[0] in VOWELS else [rest]
    elif head in ("meny", "peny"):
        rest = word[4:]
        out = ["s" + rest, "ny" + rest]
    elif word.startswith(("mem", "pem")):
        rest = word[3:]
        if rest[0] in VOWELS:
            out = ["p" + rest, "m" + rest]
        elif rest[0] in "bfpv":
            out = [rest]
        elif rest[0] in "rl":
            out = ["p" + rest]
    elif word.startswith(("men", "pen")):
        rest = word[3:]
        if rest[0] in VOWELS:
            out = ["t" + rest, "n" + rest]
        elif rest[0] in "cdjtsz":
            out = [rest]
    elif word.startswith(("ber", "ter", "per")):
        rest = word[3:]
        out = [rest, "r" + rest] if rest[0] in VOWELS else [rest]
    elif word.startswith(("bel", "pel")) and word[3] in VOWELS:
        out = [word[3:]]  # bel-ajar, pel-ajar
    if word.startswith(("me", "pe")) and word[2] in ("lrwymn" if word[0] == "m" else "lwymn"):
        out.append(word[2:])  # me-latih, me-rawat, pe-latih-an (pe-r... is per- above)
    if not out and word.startswith("pe") and word[2] not in VOWELS:
        out = [word[2:]]  # pe-kerja, pe-tani
    if not out and word.startswith("be") and word[2] not in VOWELS and word[3:5] == "er":
        out = [word[2:]]  # be-kerja, be-ternak
    if word.startswith(("di", "ke")):
        out.append(word[2:])
    return [form for form in out if len(form) >= MIN_STEM]


def query_stop_words(query_words: list[str]) -> list[str]:
    """The query's words without stop words, unless that leaves nothing."""
    kept = [word for word in query_words if word not in STOP_WORDS]
    return kept or query_words
