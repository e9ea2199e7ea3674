"""What a new password must be: long enough, not the user name, not one of the most common passwords.

Checked by `UserStore` whenever a password is set (user creation, the first administrator, password change),
so no path stores a password the policy refuses. Each refusal names its `PasswordRule`, which the API
returns in its problem document.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # bounds the cost of hashing an attacker-chosen string

# The most common passwords of public breach corpora (and the defaults of video equipment), lower-case.
# Kept short on purpose: it stops the guesses an online attacker tries first; length does the rest.
COMMON_PASSWORDS = frozenset({
    "123456", "12345678", "123456789", "1234567890", "12345678910", "123456789012", "1234567890123",
    "111111111111", "000000000000", "123123123123", "987654321", "9876543210", "11223344", "112233445566",
    "password", "password1", "password12", "password123", "password1234", "password12345", "passw0rd",
    "p@ssw0rd", "p@ssword123", "passwordpassword", "password!", "password123!",
    "qwerty", "qwerty123", "qwertyuiop", "qwerty123456", "qwertyuiop123", "1q2w3e4r", "1q2w3e4r5t",
    "1q2w3e4r5t6y", "1qaz2wsx", "1qaz2wsx3edc", "zaq12wsx", "asdfghjkl", "asdfghjkl123", "zxcvbnm123",
    "iloveyou", "iloveyou123", "letmein", "letmein123", "welcome", "welcome123", "welcome1234",
    "admin", "admin123", "admin1234", "admin12345", "admin123456", "administrator", "administrator1",
    "adminadmin", "adminadmin123", "root", "root123", "toor", "changeme", "changeme123", "default",
    "monkey", "dragon", "football", "baseball", "sunshine", "princess", "superman", "starwars",
    "trustno1", "master", "shadow", "michael", "whatever", "abc123", "abcd1234", "abc123456789",
    "aa123456", "a123456789", "qq123456", "woaini1314", "5201314", "1314520", "88888888", "666666",
    "hik12345", "hikvision", "hikvision123", "dahua", "dahua123", "12345abcde", "camera123",
    "security", "security123", "surveillance", "clearsight", "clearsight123",
})


class PasswordRule(StrEnum):
    """Which rule a refused password broke (the API's problem document names it)."""

    MIN_LENGTH = "min_length"
    MAX_LENGTH = "max_length"
    NOT_USERNAME = "not_username"
    NOT_COMMON = "not_common"


class WeakPassword(ValueError):
    def __init__(self, rule: PasswordRule, reason: str) -> None:
        super().__init__(f"password rejected: {reason}")
        self.rule = rule
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    min_length: int = DEFAULT_MIN_PASSWORD_LENGTH

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= MAX_PASSWORD_LENGTH:
            raise ValueError(f"min_length must be between 1 and {MAX_PASSWORD_LENGTH}")

    def check(self, username: str, password: str) -> None:
        """Raise `WeakPassword` naming the first rule `password` breaks for `username`."""
        if len(password) < self.min_length:
            raise WeakPassword(PasswordRule.MIN_LENGTH, f"shorter than {self.min_length} characters")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise WeakPassword(PasswordRule.MAX_LENGTH, f"longer than {MAX_PASSWORD_LENGTH} characters")
        folded = password.casefold()
        if folded == username.casefold():
            raise WeakPassword(PasswordRule.NOT_USERNAME, "the same as the user name")
        if folded in COMMON_PASSWORDS:
            raise WeakPassword(PasswordRule.NOT_COMMON, "one of the most common passwords")
