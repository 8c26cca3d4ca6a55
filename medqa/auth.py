"""Users with scrypt-hashed passwords, roles (staff, admin) and hashed API keys, in SQLite."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medqa.errors import AuthError, ConfigError
from medqa.history import SQLiteFile

ROLES = ("staff", "admin")
KEY_PREFIX = "mq_"
# scrypt cost: ~16 MB and tens of ms per check, so guessing passwords offline is slow.
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class User:
    """A signed-in person (or the owner of an API key)."""

    name: str
    role: str
    tenant: str = "default"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    """A salted scrypt hash in one self-describing string."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches a hash made by hash_password (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got, base64.b64decode(digest))


def _key_hash(key: str) -> str:
    # API keys carry 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(key.encode()).hexdigest()


class UserStore(SQLiteFile):
    """Users and API keys of every tenant, in one SQLite file under MEDQA_HOME."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS users (
            tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
            pw_hash TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (tenant, name));
        CREATE TABLE IF NOT EXISTS api_keys (
            key_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '', created REAL NOT NULL);
        """

    @classmethod
    def open(cls, settings: Any) -> "UserStore":
        """The store under settings.home (one file for every tenant)."""
        return cls(settings.home / "users.sqlite3")

    def add_user(self, name: str, password: str, role: str = "staff", tenant: str = "default") -> User:
        """Create or replace a user; the password is stored only as a scrypt hash."""
        if role not in ROLES:
            raise ConfigError(f"Unknown role {role!r}.", f"Valid roles: {', '.join(ROLES)}.")
        if not name.strip() or len(password) < 8:
            raise ConfigError("A user needs a name and a password of at least 8 characters.",
                              "Choose a longer password.")
        with self._lock, self._db() as db:
            db.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?)",
                       (tenant, name, role, hash_password(password), time.time()))
        return User(name, role, tenant)

    def get(self, name: str, tenant: str = "default") -> User | None:
        """The user of that name, or None."""
        with self._db() as db:
            row = db.execute("SELECT role FROM users WHERE tenant=? AND name=?", (tenant, name)).fetchone()
        return User(name, row[0], tenant) if row else None

    def users(self, tenant: str = "default") -> list[User]:
        """Every user of a tenant, by name."""
        with self._db() as db:
            rows = db.execute("SELECT name, role FROM users WHERE tenant=? ORDER BY name", (tenant,))
            return [User(n, r, tenant) for n, r in rows.fetchall()]

    def authenticate(self, name: str, password: str, tenant: str = "default") -> User | None:
        """The user when the password is right; None otherwise (never says which part was wrong)."""
        with self._db() as db:
            row = db.execute("SELECT role, pw_hash FROM users WHERE tenant=? AND name=?",
                             (tenant, name)).fetchone()
        if row is None:
            verify_password(password, hash_password("timing-equaliser"))  # same cost either way
            return None
        return User(name, row[0], tenant) if verify_password(password, row[1]) else None

    def create_key(self, name: str, label: str = "", tenant: str = "default") -> str:
        """A new API key for an existing user; the key is shown once and stored hashed."""
        if self.get(name, tenant) is None:
            raise ConfigError(f"No user {name!r}.", f"Create it first: medqa users add {name} --role staff")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock, self._db() as db:
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)",
                       (_key_hash(key), tenant, name, label, time.time()))
        return key

    def check_key(self, key: str | None) -> User:
        """The owner of an API key; AuthError when the key is missing or unknown."""
        if not key:
            raise AuthError("Missing API key.", "Send the header 'Authorization: Bearer <key>'; "
                            "create a key with: medqa apikey create --user NAME")
        with self._db() as db:
            row = db.execute("SELECT tenant, name FROM api_keys WHERE key_hash=?",
                             (_key_hash(key),)).fetchone()
        user = self.get(row[1], row[0]) if row else None
        if user is None:
            raise AuthError("Invalid API key.", "Check the key, or create one with: "
                            "medqa apikey create --user NAME")
        return user


def ensure_first_admin(store: UserStore, home: Path, tenant: str = "default") -> str | None:
    """With no admin yet, create user 'admin' with a random password, kept in a 0600 file.

    Returns the password when it was just created, so `medqa serve` can print it once.
    """
    users = store.users(tenant)
    if any(u.is_admin for u in users) or any(u.name == "admin" for u in users):
        return None
    password = secrets.token_urlsafe(12)
    store.add_user("admin", password, "admin", tenant)
    secret = Path(home) / "initial-admin-password"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    return password
