"""Dashboard sessions, kept on the server: in the database, or in Redis when REDIS_URL is set.

The session cookie is a random token and nothing else; the server keeps only its SHA-256, so
neither the cookie nor a copy of the store can be read or forged into a session. A session ends
at once (the next request fails) when:

- its admin signs out, or ends it (or every session) on the sessions page;
- it has not been used for DASHBOARD_IDLE_MINUTES, or DASHBOARD_SESSION_HOURS have passed;
- what opened it stops being valid: the API key is revoked or loses the admin scope,
  DASHBOARD_PASSWORD changes (a password session carries an HMAC of the setting it matched),
  or a Telegram admin leaves ADMIN_IDS.

The CSRF token of a session is an HMAC of its cookie token: a form posted with another
session's token, or after the session ended, is refused. The sign-in form, which has no session
yet, gets its CSRF token from a short-lived signed cookie (`signin_token`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.apikeys import service as keys_service
from bozor.audit import service as audit
from bozor.dashboard.models import DashboardSession, LoginProof
from bozor.db import session_scope, upsert_insert, utcnow
from bozor.settings import Settings
from bozor.signing import signing_secret

SESSION_COOKIE = "bozor_dashboard"
SIGNIN_COOKIE = "bozor_dashboard_signin"  # carries the sign-in form's CSRF token
SIGNIN_SECONDS = 30 * 60
AREA = "dashboard"  # of the audit log
# last_used_at is written at most this often (and at least 4 times per idle period).
TOUCH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class StoredSession:
    id: str  # sha256 of the cookie's token, hex
    subject: str  # "password", "key:<id>" or "telegram:<id>"
    label: str  # who, as the sessions page and the records show them
    fingerprint: str  # password sessions: HMAC of the DASHBOARD_PASSWORD setting
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class Current:
    """The session of a request, and the CSRF token its forms carry."""

    session: StoredSession
    csrf: str


# ------------------------------------------------------------------ tokens and fingerprints


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(f"bozor-dashboard:{signing_secret(settings)}".encode()).digest()


def _mac(settings: Settings, purpose: str, value: str) -> str:
    return hmac.new(_key(settings), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def session_id(token: str) -> str:
    """What the store keys a session by: the SHA-256 of the cookie's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(settings: Settings, token: str) -> str:
    """The CSRF token of the session whose cookie holds `token`."""
    return _mac(settings, "csrf", token)[:43]


def password_fingerprint(settings: Settings) -> str:
    """An HMAC of the DASHBOARD_PASSWORD setting ("" when unset): when the setting changes,
    sessions opened with the old password no longer match."""
    if settings.dashboard_password is None:
        return ""
    return _mac(settings, "password", settings.dashboard_password.get_secret_value())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(settings: Settings, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(settings: Settings, value: str | None) -> dict[str, Any] | None:
    """The payload of a cookie this server signed and that has not expired; None otherwise."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or float(payload.get("exp", 0)) < time.time():
        return None
    return payload


def signin_token(settings: Settings) -> tuple[str, str]:
    """A CSRF token for the sign-in form and the cookie that vouches for it."""
    token = secrets.token_urlsafe(24)
    return token, sign(settings, {"csrf": token, "exp": time.time() + SIGNIN_SECONDS})


def same_token(expected: str | None, presented: str | None) -> bool:
    return (
        bool(expected) and bool(presented) and hmac.compare_digest(expected or "", presented or "")
    )


def password_matches(settings: Settings, presented: str) -> bool:
    """Whether `presented` is the DASHBOARD_PASSWORD (plain, or given as sha256:<hex>);
    compared as digests, in constant time."""
    if settings.dashboard_password is None or not presented:
        return False
    configured = settings.dashboard_password.get_secret_value()
    digest = hashlib.sha256(presented.encode()).hexdigest()
    if configured.startswith("sha256:"):
        expected = configured.removeprefix("sha256:").strip().lower()
    else:
        expected = hashlib.sha256(configured.encode()).hexdigest()
    return hmac.compare_digest(digest, expected)


# ------------------------------------------------------------------------------- stores


class SessionStore(Protocol):
    """Where sessions live. `db` is the caller's transaction (the Redis store ignores it)."""

    async def add(self, db: AsyncSession, session: StoredSession) -> None: ...

    async def get(self, db: AsyncSession, id: str) -> StoredSession | None: ...

    async def touch(self, db: AsyncSession, id: str, at: datetime) -> None: ...

    async def end(self, db: AsyncSession, ids: list[str]) -> list[str]:
        """End these sessions; the ids of those that were still there."""
        ...

    async def all(self, db: AsyncSession, now: datetime) -> list[StoredSession]:
        """Every session not past its absolute end (and forget those that are)."""
        ...

    async def claim_proof(self, db: AsyncSession, proof: str, until: datetime) -> bool:
        """True the first time `proof` is presented (until it expires), False after."""
        ...

    async def purge(self, db: AsyncSession, now: datetime, idle: timedelta) -> None:
        """Forget sessions past their end or unused for `idle` (nobody will present them)."""
        ...


class DatabaseSessionStore:
    async def add(self, db: AsyncSession, session: StoredSession) -> None:
        db.add(DashboardSession(**{f: getattr(session, f) for f in StoredSession.__slots__}))
        await db.flush()

    async def get(self, db: AsyncSession, id: str) -> StoredSession | None:
        row = await db.get(DashboardSession, id)
        return None if row is None else _stored(row)

    async def touch(self, db: AsyncSession, id: str, at: datetime) -> None:
        await db.execute(
            update(DashboardSession).where(DashboardSession.id == id).values(last_used_at=at)
        )

    async def end(self, db: AsyncSession, ids: list[str]) -> list[str]:
        if not ids:
            return []
        result = await db.execute(
            delete(DashboardSession)
            .where(DashboardSession.id.in_(ids))
            .returning(DashboardSession.id)
        )
        return list(result.scalars())

    async def all(self, db: AsyncSession, now: datetime) -> list[StoredSession]:
        await db.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
        rows = await db.scalars(
            select(DashboardSession).order_by(DashboardSession.last_used_at.desc())
        )
        return [_stored(row) for row in rows]

    async def claim_proof(self, db: AsyncSession, proof: str, until: datetime) -> bool:
        await db.execute(delete(LoginProof).where(LoginProof.expires_at <= utcnow()))
        insert = upsert_insert(db, LoginProof.__table__)
        result = await db.execute(
            insert.values(proof=proof, expires_at=until)
            .on_conflict_do_nothing()
            .returning(LoginProof.proof)
        )
        return result.first() is not None

    async def purge(self, db: AsyncSession, now: datetime, idle: timedelta) -> None:
        await db.execute(
            delete(DashboardSession).where(
                (DashboardSession.expires_at <= now) | (DashboardSession.last_used_at <= now - idle)
            )
        )


def _stored(row: DashboardSession) -> StoredSession:
    return StoredSession(**{f: getattr(row, f) for f in StoredSession.__slots__})


# Sets a field only while the session exists: HSET on a key that was just deleted would bring
# back a bare hash without its expiry.
_TOUCH = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end"
)


class RedisSessionStore:
    """A hash per session (expiring at its absolute end) and a sorted set of the ids by end."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:dashboard"

    def _name(self, id: str) -> str:
        return f"{self.prefix}:session:{id}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}:sessions"

    async def add(self, db: AsyncSession, session: StoredSession) -> None:
        fields: dict[str | bytes | bytearray | memoryview[int] | int | float, Any] = {
            f: (v.isoformat() if isinstance(v, datetime) else str(v))
            for f in StoredSession.__slots__
            if (v := getattr(session, f)) is not None
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._name(session.id), mapping=fields)
            pipe.expireat(self._name(session.id), int(session.expires_at.timestamp()) + 1)
            pipe.zadd(self._index, {session.id: session.expires_at.timestamp()})
            await pipe.execute()

    async def get(self, db: AsyncSession, id: str) -> StoredSession | None:
        raw = await self.redis.hgetall(self._name(id))
        return _from_hash(raw)

    async def touch(self, db: AsyncSession, id: str, at: datetime) -> None:
        await self.redis.eval(_TOUCH, 1, self._name(id), "last_used_at", at.isoformat())

    async def end(self, db: AsyncSession, ids: list[str]) -> list[str]:
        ended = []
        for id in ids:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._name(id))
                pipe.zrem(self._index, id)
                deleted, _ = await pipe.execute()
            if deleted:
                ended.append(id)
        return ended

    async def all(self, db: AsyncSession, now: datetime) -> list[StoredSession]:
        await self.redis.zremrangebyscore(self._index, "-inf", now.timestamp())
        ids = [
            id.decode() if isinstance(id, bytes) else str(id)
            for id in await self.redis.zrange(self._index, 0, -1)
        ]
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for id in ids:
                pipe.hgetall(self._name(id))
            hashes = await pipe.execute()
        found = []
        for id, raw in zip(ids, hashes, strict=True):
            session = _from_hash(raw)
            if session is None:
                await self.redis.zrem(self._index, id)
            else:
                found.append(session)
        return sorted(found, key=lambda s: s.last_used_at, reverse=True)

    async def claim_proof(self, db: AsyncSession, proof: str, until: datetime) -> bool:
        seconds = max(1, int((until - utcnow()).total_seconds()) + 1)
        return bool(await self.redis.set(f"{self.prefix}:proof:{proof}", "1", nx=True, ex=seconds))

    async def purge(self, db: AsyncSession, now: datetime, idle: timedelta) -> None:
        # Each hash expires at its session's end by itself; the index is trimmed by all().
        return


def _from_hash(raw: dict[Any, Any]) -> StoredSession | None:
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    try:
        return StoredSession(
            id=fields["id"],
            subject=fields["subject"],
            label=fields["label"],
            fingerprint=fields.get("fingerprint", ""),
            created_at=datetime.fromisoformat(fields["created_at"]),
            last_used_at=datetime.fromisoformat(fields["last_used_at"]),
            expires_at=datetime.fromisoformat(fields["expires_at"]),
            ip=fields.get("ip", ""),
            user_agent=fields.get("user_agent", ""),
        )
    except (KeyError, ValueError):
        return None


# ----------------------------------------------------------------------------- the rules


class Sessions:
    """Opening, checking, listing and ending dashboard sessions (one per app)."""

    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        store: SessionStore,
    ) -> None:
        self.settings = settings
        self.factory = session_factory
        self.store = store

    @classmethod
    def create(
        cls,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        redis: Redis | None,
    ) -> Sessions:
        store: SessionStore = (
            RedisSessionStore(redis, settings.redis_prefix)
            if redis is not None
            else DatabaseSessionStore()
        )
        return cls(settings, session_factory, store)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.dashboard_idle_minutes)

    async def open(
        self, db: AsyncSession, *, subject: str, label: str, ip: str, user_agent: str
    ) -> str:
        """A new session in the caller's transaction; the token for its cookie."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self.store.purge(db, now, self.idle)
        await self.store.add(
            db,
            StoredSession(
                id=session_id(token),
                subject=subject,
                label=label[:200],
                fingerprint=password_fingerprint(self.settings) if subject == "password" else "",
                created_at=now,
                last_used_at=now,
                expires_at=now + timedelta(hours=self.settings.dashboard_session_hours),
                ip=ip[:64],
                user_agent=user_agent[:300],
            ),
        )
        return token

    async def current(self, token: str | None, *, ip: str = "") -> Current | None:
        """The live session whose cookie holds `token`, or None (and a session found no longer
        valid is ended and recorded)."""
        if not token or len(token) > 200:
            return None
        async with session_scope(self.factory) as db:
            session = await self.store.get(db, session_id(token))
            if session is None:
                return None
            now = utcnow()
            reason = await self._invalid(db, session, now)
            if reason is not None:
                await self._end(db, [session], reason=reason, actor=session.subject, ip=ip)
                return None
            touch_every = min(TOUCH_SECONDS, self.idle.total_seconds() / 4)
            if (now - session.last_used_at).total_seconds() >= touch_every:
                await self.store.touch(db, session.id, now)
                session = replace(session, last_used_at=now)
        return Current(session, csrf_token(self.settings, token))

    async def _invalid(self, db: AsyncSession, session: StoredSession, now: datetime) -> str | None:
        """Why the session is over, or None while it is valid."""
        if now >= session.expires_at:
            return "expired"
        if now - session.last_used_at >= self.idle:
            return "idle"
        kind, _, ident = session.subject.partition(":")
        if kind == "password":
            if self.settings.dashboard_password is None or not hmac.compare_digest(
                session.fingerprint, password_fingerprint(self.settings)
            ):
                return "password_changed"
        elif kind == "key" and ident.isdigit():
            key = await keys_service.get_live(session=db, key_id=int(ident))
            if key is None or "admin" not in key.scope_set:
                return "key_revoked"
        elif kind == "telegram" and ident.isdigit():
            if int(ident) not in self.settings.admin_ids:
                return "not_admin"
        else:
            return "unknown_subject"
        return None

    async def active(self) -> list[StoredSession]:
        """The sessions still valid, most recently used first (those found over are ended)."""
        async with session_scope(self.factory) as db:
            now = utcnow()
            live, over = [], []
            for session in await self.store.all(db, now):
                reason = await self._invalid(db, session, now)
                if reason is None:
                    live.append(session)
                else:
                    over.append((session, reason))
            for session, reason in over:
                await self._end(db, [session], reason=reason, actor=session.subject)
        return live

    async def end(
        self, ids: list[str], *, reason: str, actor: str, ip: str = ""
    ) -> list[StoredSession]:
        """End these sessions (those that exist) and record it; the sessions ended."""
        async with session_scope(self.factory) as db:
            found = [s for id in ids if (s := await self.store.get(db, id)) is not None]
            return await self._end(db, found, reason=reason, actor=actor, ip=ip)

    async def end_all(self, *, actor: str, ip: str = "") -> list[StoredSession]:
        """End every session ("sign out everywhere") and record it."""
        async with session_scope(self.factory) as db:
            found = await self.store.all(db, utcnow())
            return await self._end(db, found, reason="signed_out_everywhere", actor=actor, ip=ip)

    async def claim_proof(self, db: AsyncSession, proof: str, until: datetime) -> bool:
        return await self.store.claim_proof(db, proof, until)

    async def _end(
        self,
        db: AsyncSession,
        sessions: list[StoredSession],
        *,
        reason: str,
        actor: str,
        ip: str = "",
    ) -> list[StoredSession]:
        by_id = {s.id: s for s in sessions}
        ended = [by_id[id] for id in await self.store.end(db, list(by_id))]
        for session in ended:
            await audit.record(
                session=db,
                area=AREA,
                action="session_ended",
                actor=actor,
                target=f"session:{session.id[:12]}",
                ip=ip or None,
                details={"reason": reason, "subject": session.subject, "who": session.label},
            )
        return ended
