import pytest

from sottovoce.core.errors import InvalidInput
from sottovoce.staff.passwords import check_policy, hash_password, verify_password


@pytest.mark.asvs("V6.2.1", "V6.2.4", "V6.2.11")
@pytest.mark.parametrize(
    "password,reason",
    [
        ("short-pass1", "at least 12"),
        ("password1234", "too common"),
        ("aaaaaaaaaaaaaa", "too common"),
        ("abababababab", "too common"),
        ("345678901234", "too common"),
        ("qwertyuiopas", "too common"),
        ("rita-secret-phrase", "user name"),
        ("x" * 129, "at most 128"),
    ],
)
def test_weak_passwords_are_refused(password, reason):
    with pytest.raises(InvalidInput, match=reason):
        check_policy(password, "rita")


@pytest.mark.asvs("V6.2.5", "V6.2.9")
def test_a_long_passphrase_is_accepted_without_composition_rules():
    check_policy("purple elephants dance slowly", "rita")
    check_policy("x" * 40 + " Ünïcödé & symbols 64+ " + "y" * 10, "rita")


@pytest.mark.asvs("V11.4.2")
def test_hash_is_argon2id_and_verifies():
    hashed = hash_password("purple elephants dance")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "purple elephants dance")
    assert not verify_password(hashed, "purple elephants dance!")
    assert not verify_password("not a hash", "x")
