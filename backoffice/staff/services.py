"""Staff accounts, sign-in with lockout, server-side sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import audit
from backoffice.actors import Principal
from backoffice.db import flush_versioned, storable_id
from backoffice.errors import ConflictError, NotFoundError, ValidationFailedError
from backoffice.i18n import LANGUAGES, N_, Msg
from backoffice.staff.models import ApiToken, Role, StaffSession, StaffUser

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
SESSION_TOUCH_SECONDS = 60
# Sessions idle longer than any configured timeout are deleted at the next sign-in.
IDLE_PURGE_MINUTES = 24 * 60
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(user: StaffUser, via_token: bool = False) -> Principal:
    return Principal(user.id, user.username, user.role, user.language, user.full_name, via_token)


async def active_principal(session: AsyncSession, username: str) -> Principal | None:
    """The staff member a batch command acts as (`--as USER`); None if unknown or disabled."""
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    return principal_of(user) if user is not None and user.is_active else None


# ---------------------------------------------------------------- sign-in

class SignInRefusedError(Exception):
    def __init__(self, message: Msg) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class PasswordCheck:
    user_id: int | None
    password_ok: bool


async def check_password(session: AsyncSession, username: str, password: str) -> PasswordCheck:
    """Reads the user and verifies the password, writing nothing. The argon2 check (a tenth of a
    second of CPU by design) runs on a worker thread so the server keeps answering meanwhile;
    an unknown user name costs the same time as a known one."""
    row = (await session.execute(
        select(StaffUser.id, StaffUser.password_hash).where(StaffUser.username == username.strip().lower())
    )).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_password, stored, password)
    return PasswordCheck(row.id if row is not None else None, ok and row is not None)


async def complete_sign_in(
    session: AsyncSession, check: PasswordCheck, password: str, *, max_attempts: int, lock_minutes: int
) -> StaffUser:
    """Applies a password check: counts failures (locking the account after max_attempts for
    lock_minutes) or resets them. Raises SignInRefusedError with the message to show."""
    now = dt.datetime.now(dt.UTC)
    refused = SignInRefusedError(Msg(N_("Wrong user name or password.")))
    if check.user_id is None:
        raise refused
    user = await session.get(StaffUser, check.user_id, populate_existing=True)
    if user is None:
        raise refused
    if user.locked_until is not None and user.locked_until > now:
        raise SignInRefusedError(
            Msg(N_("This account is locked after too many failed attempts. Try again after %(time)s."),
                time=user.locked_until.astimezone(_budapest()).strftime("%H:%M"))
        )
    if not check.password_ok:
        user.failed_attempts += 1
        await audit.record(session, None, "staff.sign_in_failed", "staff_user", user.id, None,
                           {"failed_attempts": user.failed_attempts})
        if user.failed_attempts >= max_attempts:
            user.locked_until = now + dt.timedelta(minutes=lock_minutes)
            user.failed_attempts = 0
            await audit.record(
                session, None, "staff.lock", "staff_user", user.id, None, {"locked_until": user.locked_until}
            )
        raise refused
    if not user.is_active:
        raise refused
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    return user


def _budapest() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Budapest")


async def start_session(session: AsyncSession, user: StaffUser, old_token: str | None, ip: str = "") -> str:
    """A fresh random session id at every sign-in; any session the browser brought is ended."""
    if old_token:
        await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_digest(old_token)))
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    await purge_expired_sessions(session, IDLE_PURGE_MINUTES)  # sign-ins keep the table small
    session.add(
        StaffSession(token_hash=token_digest(token), user_id=user.id, created_at=now, last_seen_at=now, ip=ip[:64])
    )
    await audit.record(session, principal_of(user), "staff.sign_in", "staff_user", user.id)
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_digest(token)))


@dataclass(frozen=True)
class SessionLookup:
    principal: Principal
    needs_touch: bool


_PRINCIPAL_COLUMNS = (
    StaffUser.id, StaffUser.username, StaffUser.role, StaffUser.language, StaffUser.full_name, StaffUser.is_active,
)
_USERS: Any = StaffUser.__table__
_SESSIONS: Any = StaffSession.__table__
# Composed once, of the tables' columns (a Core statement, which skips the ORM's handling of each
# execution): every request of a signed-in user runs it.
_SESSION_LOOKUP = (select(_SESSIONS.c.last_seen_at, *(_USERS.c[column.key] for column in _PRINCIPAL_COLUMNS))
                   .join_from(_SESSIONS, _USERS, _USERS.c.id == _SESSIONS.c.user_id)
                   .where(_SESSIONS.c.token_hash == bindparam("token_hash")))


async def lookup_session(session: AsyncSession, token: str, idle_minutes: int) -> SessionLookup | None:
    connection = await session.connection()
    row = (await connection.execute(_SESSION_LOOKUP, {"token_hash": token_digest(token)})).first()
    if row is None:
        return None
    last_seen, user_id, username, role, language, full_name, is_active = row
    now = dt.datetime.now(dt.UTC)
    if not is_active or now - last_seen > dt.timedelta(minutes=idle_minutes):
        return None
    principal = Principal(user_id, username, role, language, full_name)
    return SessionLookup(principal, (now - last_seen).total_seconds() > SESSION_TOUCH_SECONDS)


async def touch_session(session: AsyncSession, token: str) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == token_digest(token))
        .values(last_seen_at=dt.datetime.now(dt.UTC))
    )


async def purge_expired_sessions(session: AsyncSession, idle_minutes: int) -> int:
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=idle_minutes)
    result = await session.execute(delete(StaffSession).where(StaffSession.last_seen_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- API tokens

async def create_token(session: AsyncSession, username: str) -> str:
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.is_active:
        raise NotFoundError("user_not_found", Msg(N_("There is no active user %(name)s."), name=username))
    token = "bo_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), created_at=dt.datetime.now(dt.UTC)))
    await audit.record(session, None, "staff.token_create", "staff_user", user.id)
    return token


async def revoke_tokens(session: AsyncSession, *, token: str | None = None, username: str | None = None) -> int:
    """Revoke one token (given whole) or every live token of a user; returns how many."""
    stmt = update(ApiToken).where(ApiToken.revoked_at.is_(None))
    if token is not None:
        stmt = stmt.where(ApiToken.token_hash == token_digest(token))
    elif username is not None:
        user_id = await session.scalar(select(StaffUser.id).where(StaffUser.username == username))
        if user_id is None:
            raise NotFoundError("user_not_found", Msg(N_("There is no such user.")))
        stmt = stmt.where(ApiToken.user_id == user_id)
    else:
        raise ValidationFailedError("nothing_to_revoke", Msg(N_("Say which token or whose tokens to revoke.")))
    result = await session.execute(stmt.values(revoked_at=dt.datetime.now(dt.UTC)).returning(ApiToken.user_id))
    owners = list(result.scalars())
    for owner in sorted(set(owners)):
        await audit.record(session, None, "staff.token_revoke", "staff_user", owner, None,
                           {"revoked": owners.count(owner)})
    return len(owners)


async def lookup_token(session: AsyncSession, token: str) -> Principal | None:
    user = await session.scalar(
        select(StaffUser)
        .join(ApiToken, ApiToken.user_id == StaffUser.id)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
    )
    if user is None or not user.is_active:
        return None
    return principal_of(user, via_token=True)


# ---------------------------------------------------------------- administration

def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise ValidationFailedError(
            "bad_username",
            Msg(N_("A user name is 2 to 64 lower-case letters, digits, dots, dashes or underscores, "
                   "starting with a letter.")),
            field="username",
        )
    return name


def _check_role(role: str) -> str:
    if role not in {r.value for r in Role}:
        raise ValidationFailedError("bad_role", Msg(N_("Choose one of the roles.")), field="role")
    return role


def check_password_strength(password: str) -> None:
    if len(password) < 12:
        raise ValidationFailedError(
            "weak_password", Msg(N_("A password is at least 12 characters long.")), field="password"
        )


async def create_user(
    session: AsyncSession, actor: Principal | None, username: str, role: str, password: str,
    full_name: str = "", *, allow_weak: bool = False,
) -> StaffUser:
    name = _check_username(username)
    _check_role(role)
    if not allow_weak:
        check_password_strength(password)
    if await session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
        raise ConflictError("username_taken", Msg(N_("This user name is taken.")), field="username")
    user = StaffUser(
        username=name, role=role, full_name=full_name.strip()[:200], password_hash=hash_password(password),
        is_active=True, language="hu", failed_attempts=0,
    )
    session.add(user)
    await session.flush()
    await audit.record(session, actor, "staff.create", "staff_user", user.id, None,
                       {"username": name, "role": role, "full_name": user.full_name})
    return user


async def get_user(session: AsyncSession, user_id: int) -> StaffUser:
    user = await session.get(StaffUser, user_id) if storable_id(user_id) else None
    if user is None:
        raise NotFoundError("user_not_found", Msg(N_("There is no such user.")))
    return user


async def list_users(session: AsyncSession) -> list[StaffUser]:
    return list(await session.scalars(select(StaffUser).order_by(StaffUser.username)))


async def change_user(
    session: AsyncSession, actor: Principal, user_id: int, *, role: str | None = None,
    is_active: bool | None = None, expected_version: int | None = None,
) -> StaffUser:
    user = await get_user(session, user_id)
    if expected_version is not None and expected_version != user.version:
        raise ConflictError(
            "stale_version", Msg(N_("Someone else changed this user meanwhile; here is the current state."))
        )
    if user.id == actor.id and (is_active is False or (role is not None and role != user.role)):
        raise ValidationFailedError(
            "self_change", Msg(N_("You cannot disable yourself or change your own role.")), field="role"
        )
    before = audit.snapshot(user, ["role", "is_active"])
    if role is not None:
        user.role = _check_role(role)
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
            await session.execute(
                update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )
    after = audit.snapshot(user, ["role", "is_active"])
    if before != after:
        await flush_versioned(session, ConflictError(
            "stale_version", Msg(N_("Someone else changed this user meanwhile; here is the current state."))
        ))
        await audit.record(session, actor, "staff.update", "staff_user", user.id, before, after)
    return user


async def set_language(session: AsyncSession, actor: Principal, language: str) -> None:
    if language not in LANGUAGES:
        raise ValidationFailedError("bad_language", Msg(N_("Choose one of the languages.")), field="language")
    user = await get_user(session, actor.id)
    if user.language != language:
        before = {"language": user.language}
        user.language = language
        await audit.record(session, actor, "staff.language", "staff_user", user.id, before, {"language": language})
