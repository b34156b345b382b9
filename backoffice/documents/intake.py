"""Bulk intake from a scanning folder: files plus a sidecar metadata.csv; each file ends registered
(moved to `done/`) or set aside in `rejected/` beside a `.reason.txt`, and a crash loses or
duplicates nothing.

How a crash is survived: files are registered in chunks, one transaction per chunk, and moved only
after their chunk has committed. Each registration carries the intake key
`import:<sha256>:<file name>`, so a re-run finds what a crashed run committed but did not move and
just moves it; what never committed is registered again (its content, stored under its digest, is
reused). A rejection is final only once its chunk has committed too (a duplicate names a registry
number that a rollback would give back), so rejected files move at the same point.

Test hook (tests/documents/test_bulk_import.py): BACKOFFICE_INTAKE_CRASH=<point>:<n> ends the
process abruptly (exit status 137, as if killed) at one of these points:
  registered:<n>  right after this run's n-th registration, before its chunk commits
  committed:<n>   right after the commit of the chunk holding this run's n-th registration, before any move
  moved:<n>       right after this run's n-th file was moved out of the folder
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.actors import Principal
from backoffice.db import WRITE_INTENT, transaction
from backoffice.documents import services, storage
from backoffice.documents.models import Document
from backoffice.documents.schemas import RegistrationInput, parse_registration
from backoffice.errors import DomainError, ValidationFailedError
from backoffice.i18n import N_, Msg

log = logging.getLogger("backoffice.intake")

METADATA = "metadata.csv"
DONE = "done"
REJECTED = "rejected"
REASON_SUFFIX = ".reason.txt"
FIELDS = ("document_type", "direction", "channel", "correspondent", "subject", "occurred_at", "page_count",
          "customer_number", "case_number")
COLUMNS = ("file", *FIELDS)
CRASH_ENV = "BACKOFFICE_INTAKE_CRASH"
# A chunk also ends at this many bytes read, so that 50 files of 20 MB are not all held at once.
CHUNK_BYTES = 64 * 1024 * 1024
# Its statements carry a few parameters per file: keep well inside SQLite's limit on them.
MAX_CHUNK = 1000


class IntakeError(Exception):
    """The run cannot start: no folder, no readable metadata.csv, a bad header, another run."""

    def __init__(self, message: Msg) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass
class ImportSummary:
    registered: int = 0
    already_done: int = 0  # registered by an earlier run that stopped before moving them
    rejected: int = 0
    missing_rows: int = 0  # rows of metadata.csv that name no file of the folder
    # (file name as found in the folder or written in the CSV, reason) for every rejection and missing row
    problems: list[tuple[str, str]] = field(default_factory=list)


def intake_key(digest: str, name: str) -> str:
    return f"import:{digest}:{name}"


async def import_folder(
    maker: async_sessionmaker[AsyncSession],
    folder: Path,
    actor_username: str | None,
    progress: Callable[[int], None] | None = None,
    chunk: int = 50,
    *,
    on_total: Callable[[int], None] | None = None,
    max_bytes: int = services.DEFAULT_MAX_BYTES,
) -> ImportSummary:
    """Register every file of the folder that metadata.csv describes. `on_total` hears how many
    files there are before work starts; `progress` hears how many more were settled after each
    chunk. Reasons are written in the current language (`backoffice.i18n.current_language`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IntakeError(Msg(N_("There is no folder %(folder)s."), folder=str(folder)))
    with _folder_lock(folder):
        rows = read_metadata(folder / METADATA)
        done_dir, rejected_dir = folder / DONE, folder / REJECTED
        for sub in (done_dir, rejected_dir):
            if sub.exists() and not sub.is_dir():
                raise IntakeError(Msg(N_("%(name)s in the folder is not a folder."), name=sub.name))
            sub.mkdir(exist_ok=True)
        candidates = _candidates(folder)
        summary = ImportSummary()
        _report_missing_rows(rows, set(candidates), done_dir, rejected_dir, summary)
        actor, type_codes = await _actor_and_types(maker, actor_username)
        run = _Run(maker, folder, actor, rows, type_codes, max_bytes, summary)
        if on_total is not None:
            on_total(len(candidates))
        await run.all(_chunks(candidates, max(1, min(chunk, MAX_CHUNK))), progress)
    await services.finish_sweeps()
    return summary


# ---------------------------------------------------------------- metadata.csv

@dataclass
class _Row:
    line: int
    values: dict[str, str]
    problem: Msg | None = None


def read_metadata(path: Path) -> dict[str, list[_Row]]:
    """The rows of metadata.csv by the file name they give (UTF-8 with or without BOM; comma,
    semicolon or tab separated, as Excel saves it in each locale)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise IntakeError(Msg(N_("There is no metadata.csv in the folder."))) from exc
    except OSError as exc:
        raise IntakeError(Msg(N_("metadata.csv cannot be read: %(error)s"), error=exc.strerror or str(exc))) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IntakeError(Msg(N_("metadata.csv is not UTF-8 text (line %(line)s)."), line=line)) from exc
    delimiter = _delimiter(text.split("\n", 1)[0])
    if delimiter is None:
        raise IntakeError(Msg(N_("metadata.csv has no column named file.")))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: dict[str, list[_Row]] = {}
    try:
        header = [h.strip() for h in next(reader)]
        unknown = [h for h in header if h and h not in COLUMNS]
        if unknown:
            raise IntakeError(Msg(N_("metadata.csv has columns that are not metadata fields: %(columns)s. "
                                     "The columns are: %(allowed)s."),
                                  columns=", ".join(unknown), allowed=", ".join(COLUMNS)))
        twice = sorted({h for h in header if h and header.count(h) > 1})
        if twice:
            raise IntakeError(Msg(N_("metadata.csv has the column %(column)s twice."), column=twice[0]))
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            values = dict(zip(header, cells, strict=False))
            problem = None
            if len(cells) != len(header):
                problem = Msg(N_("Line %(line)s of metadata.csv has %(found)s fields instead of %(expected)s."),
                              line=reader.line_num, found=len(cells), expected=len(header))
            rows.setdefault(values.get("file", "").strip(), []).append(_Row(reader.line_num, values, problem))
    except csv.Error as exc:
        raise IntakeError(Msg(N_("metadata.csv cannot be read at line %(line)s: %(error)s"),
                              line=reader.line_num, error=str(exc))) from exc
    return rows


def _delimiter(header_line: str) -> str | None:
    for delimiter in ",;\t":
        names = next(csv.reader([header_line], delimiter=delimiter), [])
        if "file" in (name.strip() for name in names):
            return delimiter
    return None


def _plain_name(value: str) -> bool:
    """A CSV value is only ever compared with the names in the folder, never made into a path;
    one that could not be such a name is reported rather than silently unmatched."""
    return value not in ("", ".", "..") and not any(c in value for c in "/\\\x00")


def _report_missing_rows(
    rows: dict[str, list[_Row]], candidates: set[str], done_dir: Path, rejected_dir: Path, summary: ImportSummary
) -> None:
    settled = set(os.listdir(done_dir)) | set(os.listdir(rejected_dir))  # a re-run's rows are not missing
    for value, found in rows.items():
        if value in candidates or (value in settled and _plain_name(value)):
            continue
        for row in found:
            if not value:
                reason = Msg(N_("Line %(line)s of metadata.csv names no file."), line=row.line)
            elif not _plain_name(value):
                reason = Msg(N_("Line %(line)s of metadata.csv: not a plain file name (it must name a file in "
                                "the folder itself)."), line=row.line)
            else:
                reason = Msg(N_("Line %(line)s of metadata.csv: there is no such file in the folder."),
                             line=row.line)
            summary.missing_rows += 1
            summary.problems.append((value, str(reason)))


# ---------------------------------------------------------------- the folder

@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One import per folder at a time (two would race to move the same files)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IntakeError(Msg(N_("Another import of this folder is running."))) from exc
        yield
    finally:
        os.close(fd)  # also releases the lock (the kernel releases it if the process dies)


def _candidates(folder: Path) -> dict[str, int]:
    """Regular files directly in the folder (name and size, in name order), except the metadata,
    reason files and dot-files; never a sub-folder, and never a symbolic link (it could point anywhere)."""
    found = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name == METADATA or name.endswith(REASON_SUFFIX):
                continue
            if entry.is_file(follow_symlinks=False):
                found[name] = entry.stat(follow_symlinks=False).st_size
    return dict(sorted(found.items()))


def _chunks(candidates: dict[str, int], count: int) -> list[list[str]]:
    chunks: list[list[str]] = []
    held = 0
    for name, size in candidates.items():
        if not chunks or len(chunks[-1]) >= count or held + size > CHUNK_BYTES:
            chunks.append([])
            held = 0
        chunks[-1].append(name)
        held += size
    return chunks


def _read(path: Path, limit: int) -> tuple[bytes, tuple[int, int, int]]:
    """At most limit + 1 bytes (enough to tell that a file is too large), never through a link;
    and what identifies this version of the file (inode, size, modification time)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        return fh.read(limit + 1), _version(info)


def _version(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_ino, info.st_size, info.st_mtime_ns


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in the name, kept by Python as lone surrogates
        return False
    return True


def _free_name(directory: Path, name: str) -> str:
    """`name`, or `stem.1.ext`, `stem.2.ext`, ... if the directory holds that name already."""
    if not os.path.lexists(directory / name):
        return name
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    number = 1
    while os.path.lexists(directory / f"{stem}.{number}{dot}{ext}"):
        number += 1
    return f"{stem}.{number}{dot}{ext}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_reason(path: Path, reason: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(reason + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# ---------------------------------------------------------------- the run

def reason_of(exc: DomainError) -> str:
    """A refusal as one line: the message, or each field's message as `field: message`."""
    if isinstance(exc, services.DuplicateContentError) and exc.current:
        return str(Msg(N_("Duplicate of %(numbers)s: the same content is registered already."),
                       numbers=", ".join(exc.current)))
    fields = {name: message for name, message in exc.errors.items() if not (name == exc.field == "file")}
    if not fields:
        return str(exc.message)
    return "; ".join(f"{name}: {message}" for name, message in fields.items())


@dataclass
class _Item:
    name: str
    version: tuple[int, int, int] | None = None  # of the file as read (a scanner may still be writing it)
    size: int = 0
    key: str | None = None
    data: bytes = b""
    examined: services.Examined | None = None
    registration: RegistrationInput | None = None
    refusal: str | None = None  # why it cannot be registered, known before the database is asked
    reason: str | None = None  # why it was rejected in the end
    outcome: str = ""  # registered, already_done or rejected


class _CrashHook:
    def __init__(self, spec: str) -> None:
        point, _, count = spec.partition(":")
        self.point = point
        self.count = int(count) if count.isdigit() else 0

    def reached(self, point: str, count: int) -> None:
        if self.point == point and self.count and count >= self.count:
            os._exit(137)  # as abrupt as SIGKILL: no clean-up, no rollback, no flushing


async def _actor_and_types(
    maker: async_sessionmaker[AsyncSession], username: str | None
) -> tuple[Principal | None, set[str]]:
    from backoffice.staff.services import active_principal

    token = WRITE_INTENT.set(False)  # a read: no need for SQLite's write lock
    try:
        async with maker() as session:
            codes = {t.code for t in await services.document_types(session)}
            actor = await active_principal(session, username) if username is not None else None
    finally:
        WRITE_INTENT.reset(token)
    if username is not None and actor is None:
        raise IntakeError(Msg(N_("There is no active user %(name)s."), name=username))
    return actor, codes


class _Run:
    def __init__(
        self, maker: async_sessionmaker[AsyncSession], folder: Path, actor: Principal | None,
        rows: dict[str, list[_Row]], type_codes: set[str], max_bytes: int, summary: ImportSummary,
    ) -> None:
        self.maker = maker
        self.folder = folder
        self.actor = actor
        self.rows = rows
        self.type_codes = type_codes
        self.max_bytes = max_bytes
        self.summary = summary
        self.crash = _CrashHook(os.environ.get(CRASH_ENV, ""))
        self.registrations = 0
        self.moves = 0

    async def all(self, chunks: list[list[str]], progress: Callable[[int], None] | None) -> None:
        # Reading and checking the next chunk on a worker thread meanwhile was measured: no faster,
        # as the checks (pypdf) and the registration both need the interpreter lock.
        for names in chunks:
            await self.settle([self.prepare(name) for name in names], progress)

    def prepare(self, name: str) -> _Item:
        """Everything that needs no database, done before the chunk's transaction takes the lock."""
        item = _Item(name)
        if not _is_utf8(name):
            item.refusal = str(Msg(N_("The file name is not UTF-8 text: rename the file and add its row again.")))
            return item
        try:
            data, item.version = _read(self.folder / name, self.max_bytes)
        except OSError as exc:
            item.refusal = str(Msg(N_("The file cannot be read: %(error)s"), error=exc.strerror or str(exc)))
            return item
        item.size = len(data)
        try:
            item.examined = services.examine_content(data, self.max_bytes)
        except DomainError as exc:
            item.refusal = reason_of(exc)
            if len(data) <= self.max_bytes:  # (one read to the limit and beyond is not the whole file)
                item.key = intake_key(storage.digest_of(data), name)
            return item
        item.key = intake_key(item.examined.digest, name)
        try:
            item.registration = self.parse_row(name)
        except DomainError as exc:
            item.refusal = reason_of(exc)
            return item
        item.data = data
        return item

    def parse_row(self, name: str) -> RegistrationInput:
        found = self.rows.get(name)
        if not found:
            raise ValidationFailedError("intake_no_row", Msg(N_("There is no row for this file in metadata.csv.")))
        if len(found) > 1:
            raise ValidationFailedError("intake_rows", Msg(
                N_("metadata.csv has more than one row for this file (lines %(lines)s)."),
                lines=", ".join(str(r.line) for r in found)))
        row = found[0]
        if row.problem is not None:
            raise ValidationFailedError("intake_bad_row", row.problem)
        return parse_registration(row.values, type_codes=self.type_codes)

    async def settle(self, batch: list[_Item], progress: Callable[[int], None] | None) -> None:
        await self.register(batch)
        self.crash.reached("committed", self.registrations)
        self.move(batch)
        if progress is not None:
            progress(len(batch))

    async def register(self, batch: list[_Item]) -> None:
        """One transaction for the chunk, registering its files in one go. Should the database
        refuse that (a constraint no check foresaw), the chunk is done again file by file, each
        in a savepoint, so that the one bad file is set aside and the others registered."""
        try:
            async with transaction(self.maker) as session:
                await self.register_chunk(session, batch, one_by_one=False)
        except (IntegrityError, DataError):
            log.warning("bulk intake: the database refused a chunk; registering it file by file", exc_info=True)
            async with transaction(self.maker) as session:
                await self.register_chunk(session, batch, one_by_one=True)
        for item in batch:
            item.data = b""
        self.registrations += sum(item.outcome == "registered" for item in batch)

    async def register_chunk(self, session: AsyncSession, batch: list[_Item], *, one_by_one: bool) -> None:
        keys = [item.key for item in batch if item.key is not None]
        known = set(await session.scalars(
            select(Document.intake_key).where(Document.intake_key.in_(keys)))) if keys else set()
        pending: list[_Item] = []
        for item in batch:
            item.reason = item.refusal
            if item.key in known:
                item.outcome, item.reason = "already_done", None  # committed before, never moved
            elif item.refusal is not None or item.registration is None:
                item.outcome = "rejected"
            else:
                pending.append(item)
        if one_by_one:
            for item in pending:
                await self.register_alone(session, item)
        elif pending:
            results = await services.register_many(session, self.actor, [
                services.NewDocument(item.registration, item.data, item.name, item.key, item.examined)
                for item in pending if item.registration is not None
            ], max_bytes=self.max_bytes)
            for item, result in zip(pending, results, strict=True):
                if isinstance(result, DomainError):
                    item.outcome, item.reason = "rejected", reason_of(result)
                else:
                    item.outcome = "registered"
        self.crash.reached("registered", self.registrations + sum(item.outcome == "registered" for item in batch))

    async def register_alone(self, session: AsyncSession, item: _Item) -> None:
        assert item.registration is not None
        try:
            async with session.begin_nested():
                await services.register(
                    session, self.actor, item.registration, item.data, filename=item.name, intake_key=item.key,
                    max_bytes=self.max_bytes, examined=item.examined)
        except DomainError as exc:
            item.outcome, item.reason = "rejected", reason_of(exc)
        except (IntegrityError, DataError):
            log.exception("bulk intake: the database refused %r", item.name)
            item.outcome = "rejected"
            item.reason = str(Msg(N_("The database refused this file; register it by hand or try again.")))
        else:
            item.outcome = "registered"

    def move(self, batch: list[_Item]) -> None:
        """After the commit: registered files to done/, rejected ones to rejected/ beside their reason."""
        summary = self.summary
        for item in batch:
            problem = self.move_one(item)
            if item.outcome == "registered":
                summary.registered += 1
            elif item.outcome == "already_done":
                summary.already_done += 1
            elif problem is None:
                summary.rejected += 1
                summary.problems.append((item.name, item.reason or ""))
            # A file left in the folder is decided again by the next run: only why it stayed is said.
            if problem is None:
                self.moves += 1
            else:
                summary.problems.append((item.name, problem))
            self.crash.reached("moved", self.moves)
        for directory in (self.folder, self.folder / DONE, self.folder / REJECTED):
            _fsync_dir(directory)

    def move_one(self, item: _Item) -> str | None:
        """Moves the file where its outcome says, or says why it stays in the folder for the next
        run (which finds a registered one by its key, or takes a changed one as it is then)."""
        source = self.folder / item.name
        try:
            if item.version is not None and _version(os.lstat(source)) != item.version:
                return str(Msg(N_("The file changed while it was being imported (is the scanner still "
                                  "writing it?); it was left in the folder.")))
            if item.outcome == "rejected":
                rejected_dir = self.folder / REJECTED
                target = _free_name(rejected_dir, item.name)
                _write_reason(rejected_dir / (target + REASON_SUFFIX), item.reason or "")
                os.replace(source, rejected_dir / target)
            else:
                done_dir = self.folder / DONE
                os.replace(source, done_dir / _free_name(done_dir, item.name))
        except OSError as exc:
            log.warning("bulk intake: %r could not be moved: %s", item.name, exc)
            return str(Msg(N_("The file could not be moved: %(error)s"), error=exc.strerror or str(exc)))
        return None
