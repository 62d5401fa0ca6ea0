"""Password hashes in werkzeug's format (``scrypt:N:r:p$salt$hex``), with the standard library.

Stored hashes from earlier versions (made by ``werkzeug.security``) verify unchanged; the
domain does not import Flask's toolkit for this.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SALT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _derive(method: str, salt: str, password: str) -> tuple[str, str]:
    name, *args = method.split(":")
    if name == "scrypt":
        n, r, p = (int(a) for a in args) if args else (SCRYPT_N, SCRYPT_R, SCRYPT_P)
        digest = hashlib.scrypt(
            password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p
        )
        return digest.hex(), f"scrypt:{n}:{r}:{p}"
    if name == "pbkdf2":
        hash_name = args[0] if args else "sha256"
        iterations = int(args[1]) if len(args) > 1 else 1_000_000
        digest = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt.encode(), iterations)
        return digest.hex(), f"pbkdf2:{hash_name}:{iterations}"
    raise ValueError(f"unknown password hash method {name!r}")


def hash_password(password: str) -> str:
    """A new salted scrypt hash of ``password``."""
    salt = "".join(secrets.choice(_SALT_CHARS) for _ in range(16))
    digest, method = _derive("scrypt", salt, password)
    return f"{method}${salt}${digest}"


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time comparison)."""
    try:
        method, salt, digest = stored.split("$", 2)
        computed, _ = _derive(method, salt, password)
    except ValueError:
        return False
    return hmac.compare_digest(computed, digest)
