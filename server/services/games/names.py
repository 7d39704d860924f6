"""Nicknames, PINs and player tokens: the small rules of joining a game.

A nickname is shown on a big screen in front of a room, so it is cleaned
(Unicode-normalised, no control or invisible characters, length-limited) and
checked against a short list of offensive words, also when written with
digits or symbols for letters ("sh1t", "f.u.c.k"); a number at either end of a
handle ("p1655", "ada101") is read as a number.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata

from server.services.errors import StatusError

NICKNAME_MAX = 20
PIN_DIGITS = 6

# Matched anywhere in a word, also spelled out with dots or digits ("f.u.c.k", "sh1t").
_ANYWHERE = (
    "fuck",
    "bullshit",
    "nigger",
    "nigga",
    "faggot",
    "wanker",
    "bitch",
    "whore",
    "bastard",
    "dickhead",
    "asshole",
    "arsehole",
    "motherf",
    "hitler",
)
# Matched at the start of a word only: Scunthorpe, therapist and saltwater stay allowed.
_WORD_START = (
    "shit",
    "cunt",
    "nazi",
    "twat",
    "rapist",
    "kike",
    "retard",
    "slut",
    "pussy",
    "spastic",
)
# Matched only as whole words, so "Dickens", "Scunthorpe" and "cocktail" stay allowed.
_WHOLE_WORDS = {"ass", "arse", "cock", "dick", "fag", "tits", "cum", "jizz", "porn", "sex", "piss"}
_NUMBER_ENDS = re.compile(r"^\d{2,}|\d{2,}$")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "!": "i", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t"}
)


class NicknameError(StatusError, ValueError):
    """A nickname that cannot be used (422 "bad_nickname"); the message says what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(422, "bad_nickname", message)


def clean_nickname(raw: str) -> str:
    """The nickname as it will be shown: NFKC, no invisible characters, spaces collapsed."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not text:
        raise NicknameError("Choose a nickname.")
    if len(text) > NICKNAME_MAX:
        raise NicknameError(f"A nickname has at most {NICKNAME_MAX} characters.")
    if not any(ch.isalnum() for ch in text):
        raise NicknameError("A nickname needs at least one letter or digit.")
    if is_offensive(text):
        raise NicknameError("That nickname is not allowed here; choose another.")
    return text


def nickname_key(nickname: str) -> str:
    """Two nicknames that differ only in case (or width) are the same nickname."""
    return unicodedata.normalize("NFKC", nickname).casefold()


def is_offensive(text: str) -> bool:
    folded = unicodedata.normalize("NFKD", text).casefold()
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = folded.split()
    for word in words:
        # A run of digits at either end is a number ("ada101", "p1655", "Nazi99"), not letters
        # in disguise; digits among letters still are ("sh1t", "a55hole").
        for variant in (word, _NUMBER_ENDS.sub("", word).translate(_LEET)):
            letters = re.sub(r"[^a-z]", "", variant)
            if any(bad in letters for bad in _ANYWHERE):
                return True
            if letters.startswith(_WORD_START):
                return True
            if letters in _WHOLE_WORDS:
                return True
    if sum(len(w) == 1 for w in words) < 3:
        return False
    squeezed = re.sub(r"[^a-z]", "", folded.translate(_LEET))  # "f u c k" spelled out
    return any(bad in squeezed for bad in (*_ANYWHERE, *_WORD_START))


def new_pin() -> str:
    """A random 6-digit PIN without a leading zero (people drop it when typing)."""
    return str(secrets.randbelow(9 * 10 ** (PIN_DIGITS - 1)) + 10 ** (PIN_DIGITS - 1))


def is_pin(text: str) -> bool:
    return len(text) == PIN_DIGITS and text.isdigit()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
