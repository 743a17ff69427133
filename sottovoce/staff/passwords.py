"""Password hashing (argon2id) and the password policy.

Policy (OWASP ASVS 5.0 V6.2): at least 12 characters, at most 128, no check on composition,
refused when it is a commonly used password, a single repeated character, a keyboard or number run,
or contains the user's own name.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sottovoce.core.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 128

# argon2-cffi's defaults are argon2id (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()

# Frequently breached passwords of 12+ characters (from public breach-corpus top lists).
COMMON = {
    "123456789012", "1234567890123", "12345678901234", "123456789101", "password1234", "password12345",
    "password123456", "passwordpassword", "qwertyuiopasdfgh", "qwertyuiop12", "qwertyuiop123", "1q2w3e4r5t6y",
    "1qaz2wsx3edc", "qazwsxedcrfv", "zaq12wsxcde3", "iloveyou1234", "letmein12345", "welcome12345",
    "administrator", "administrator1", "changeme1234", "changemenow!", "trustno1trustno1", "football1234",
    "baseball1234", "superman1234", "starwars1234", "monkey123456", "dragon123456", "princess1234",
    "sunshine1234", "abc123456789", "abcdefghijkl", "abcd12345678", "aaaaaaaaaaaa", "111111111111",
    "000000000000", "p@ssw0rd1234", "p@ssword1234", "passw0rd1234", "password!234", "qwerty123456",
    "asdfghjkl123", "zxcvbnm12345", "michael12345", "jennifer1234", "whatever1234", "computer1234",
    "internet1234", "samsung12345", "liverpool123", "chelsea12345", "correcthorsebatterystaple",
    "iloveyouforever", "thequickbrownfox", "mypassword123", "secretpassword", "letmeinplease",
}
RUNS = ("0123456789012345678901234567890", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnmqwertyuiop")


def check_policy(password: str, username: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the password must have at least {MIN_LENGTH} characters; it has {len(password)}")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"the password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) <= 2 or any(lowered in run or lowered in run[::-1] for run in RUNS):
        raise InvalidInput("the password is too common or too easy to guess; choose another")
    if username and len(username) >= 3 and username.lower() in lowered:
        raise InvalidInput("the password must not contain the user name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the user does not exist, so a missing name costs the same time as a wrong
# password and response timing does not reveal which names exist.
DUMMY_HASH = hash_password("dummy-password-for-timing")
