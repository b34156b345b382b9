"""Bulk intake from a scanning folder: every file ends registered (in done/) or set aside in
rejected/ beside its reason; a crash at any point and a re-run lose and duplicate nothing."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backoffice import clock
from backoffice.audit import AuditEntry
from backoffice.cli import main
from backoffice.customers.models import Contact
from backoffice.documents import services
from backoffice.documents.intake import ImportSummary, IntakeError, import_folder
from backoffice.documents.models import Document, StoredContent
from backoffice.i18n import current_language
from backoffice.numbering import Counter
from backoffice.settings import PROJECT_ROOT, Settings
from tests.customers.helpers import add_party
from tests.documents.helpers import Maker, make_image, make_pdf, register, registry_state

YEAR = clock.today().year
ROW = {"document_type": "complaint_letter", "direction": "incoming", "channel": "post",
       "correspondent": "Kovács Éva", "subject": "Számlapanasz"}
FIELDS = ["file", "document_type", "direction", "channel", "correspondent", "subject", "occurred_at",
          "page_count", "customer_number", "case_number"]


def scan_folder(root: Path, files: dict[str, bytes], rows: list[dict[str, str]] | None = None, *,
                delimiter: str = ",", bom: bool = True) -> Path:
    """A scanning folder: the files and a metadata.csv (one ordinary row per file unless rows are given)."""
    folder = root / "scans"
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if rows is None:
        rows = [{"file": name, **ROW, "subject": f"Levél: {name}"} for name in files]
    write_csv(folder, rows, delimiter=delimiter, bom=bom)
    return folder


def write_csv(folder: Path, rows: list[dict[str, str]], *, delimiter: str = ",", bom: bool = True) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "metadata.csv").write_bytes(("\ufeff" if bom else "").encode() + out.getvalue().encode())


def letters(count: int, prefix: str = "scan") -> dict[str, bytes]:
    return {f"{prefix}{i:03d}.pdf": make_pdf(f"{prefix} levél {i}") for i in range(count)}


async def run_import(maker: Maker, folder: Path, actor: str | None = None, **kwargs: Any) -> ImportSummary:
    current_language.set("en")  # reasons read in English here
    return await import_folder(maker, folder, actor, **kwargs)


def key_of(name: str, data: bytes) -> str:
    return f"import:{hashlib.sha256(data).hexdigest()}:{name}"


async def documents_by_key(maker: Maker) -> dict[str | None, str]:
    async with maker() as s:
        return dict((await s.execute(select(Document.intake_key, Document.registry_number))).all())


def settled(folder: Path) -> tuple[set[str], set[str]]:
    """Names in done/ and in rejected/ (without the reason files)."""
    done = {p.name for p in (folder / "done").iterdir()}
    rejected = {p.name for p in (folder / "rejected").iterdir() if not p.name.endswith(".reason.txt")}
    return done, rejected


def reason(folder: Path, name: str) -> str:
    return (folder / "rejected" / f"{name}.reason.txt").read_text(encoding="utf-8")


def left_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file() and p.name != "metadata.csv"}


async def assert_intake_complete(maker: Maker, store_root: Path, folder: Path, files: dict[str, bytes],
                                 good: set[str]) -> None:
    """What must hold after any sequence of crashes and re-runs: every file is in done/ or rejected/
    (none lost, none left), each good one registered exactly once under its intake key with its
    content stored, the bad ones beside their reasons, registry numbers 1..n without gaps."""
    done, rejected = settled(folder)
    assert left_in(folder) == set()
    assert done | rejected == set(files) and not done & rejected
    assert done == good
    assert all(reason(folder, name).strip() for name in rejected)
    by_key = await documents_by_key(maker)
    assert set(by_key) == {key_of(name, files[name]) for name in good}
    assert sorted(by_key.values()) == [f"{YEAR}/{n:06d}-1" for n in range(1, len(good) + 1)]
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(Document)) == len(good)
        counter = await s.scalar(select(Counter.value).where(Counter.name == "registry", Counter.period == str(YEAR)))
        assert (counter or 0) == len(good)
        digests = set(await s.scalars(select(StoredContent.digest)))
    assert digests == {hashlib.sha256(files[name]).hexdigest() for name in good}
    for name in good:
        digest = hashlib.sha256(files[name]).hexdigest()
        assert (store_root / "sha256" / digest[:2] / digest).read_bytes() == files[name]


# ---------------------------------------------------------------- good files

async def test_good_files_are_registered_in_name_order_and_moved_to_done(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    files = {"b_level.pdf": make_pdf("második", pages=2), "a_level.pdf": make_pdf("első"),
             "c_kep.png": make_image("PNG"), "d_kep.jpg": make_image("JPEG"), "e_fax.tif": make_image("TIFF")}
    rows = [{"file": name, **ROW, "subject": f"Levél {name}", "occurred_at": "2026-01-15 09:30"} for name in files]
    folder = scan_folder(tmp_path, files, rows)
    summary = await run_import(maker, folder, chunk=2)
    assert (summary.registered, summary.already_done, summary.rejected, summary.missing_rows) == (5, 0, 0, 0)
    assert summary.problems == []
    await assert_intake_complete(maker, store_root, folder, files, set(files))
    async with maker() as s:
        docs = list(await s.scalars(select(Document).order_by(Document.registry_number)))
    assert [d.original_filename for d in docs] == sorted(files)
    first = docs[0]
    assert (first.subject, first.correspondent, first.direction, first.channel) == (
        "Levél a_level.pdf", "Kovács Éva", "incoming", "post")
    assert first.occurred_at is not None and first.occurred_at.isoformat() == "2026-01-15T08:30:00+00:00"
    assert docs[1].page_count == 2
    assert first.registered_by == "system"


async def test_the_user_given_is_recorded_as_registering_and_in_the_audit(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    folder = scan_folder(tmp_path, letters(2))
    await run_import(maker, folder, "records")
    async with maker() as s:
        assert set(await s.scalars(select(Document.registered_by))) == {"records"}
        actors = list(await s.scalars(select(AuditEntry.actor_name).where(AuditEntry.action == "document.registered")))
    assert actors == ["records", "records"]


async def test_a_document_linked_to_a_customer_appears_in_the_contact_log(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    party = await add_party(maker)
    files = letters(1)
    folder = scan_folder(tmp_path, files, [{"file": "scan000.pdf", **ROW, "customer_number": party.customer_number}])
    summary = await run_import(maker, folder)
    assert summary.registered == 1
    async with maker() as s:
        doc = (await s.scalars(select(Document))).one()
    assert doc.party_id == party.id
    async with maker() as s:
        logged = list(await s.scalars(select(Contact.subject_id).where(Contact.party_id == party.id,
                                                                       Contact.subject_type == "document")))
    assert logged == [str(doc.id)]


async def test_metadata_may_be_semicolon_separated_without_a_bom(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    files = letters(3)
    folder = scan_folder(tmp_path, files, delimiter=";", bom=False)
    summary = await run_import(maker, folder)
    assert summary.registered == 3 and summary.rejected == 0


async def test_a_name_already_in_done_is_kept_and_the_new_file_gets_a_suffix(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    folder = scan_folder(tmp_path, {"level.pdf": make_pdf("új")})
    (folder / "done").mkdir()
    (folder / "done" / "level.pdf").write_bytes(b"an earlier day's scan")
    summary = await run_import(maker, folder)
    assert summary.registered == 1
    assert (folder / "done" / "level.pdf").read_bytes() == b"an earlier day's scan"
    assert (folder / "done" / "level.1.pdf").read_bytes() == make_pdf("új")


# ---------------------------------------------------------------- bad files

BAD = {
    "program.pdf": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode",
    "empty.pdf": b"",
    "truncated.pdf": make_pdf("csonka", pages=2)[:-400],
}


async def test_bad_files_are_set_aside_with_their_reason_and_the_good_ones_of_the_chunk_registered(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    good = letters(3, "good")
    bad_rows = {
        "no_row.pdf": None,
        "unknown_type.pdf": {"document_type": "love_letter"},
        "bad_customer.pdf": {"customer_number": "12345"},
        "no_customer.pdf": {"customer_number": "999999999"},
        "no_case.pdf": {"case_number": f"{YEAR}/000777"},
        "future.pdf": {"occurred_at": f"{YEAR + 1}-01-01 10:00"},
        "no_subject.pdf": {"subject": ""},
        "twice.pdf": {},
    }
    files = {**good, **BAD, **{name: make_pdf(name) for name in bad_rows}}
    rows = [{"file": name, **ROW} for name in [*good, *BAD]]
    for name, changes in bad_rows.items():
        if changes is not None:
            rows.append({"file": name, **ROW, **changes})
    rows.append({"file": "twice.pdf", **ROW, "subject": "Másodszor"})
    folder = scan_folder(tmp_path, files, rows)
    before = await registry_state(maker, store_root)

    summary = await run_import(maker, folder, chunk=50)  # all in one chunk: a bad file must not sink the rest

    assert (summary.registered, summary.rejected, summary.missing_rows) == (3, len(BAD) + len(bad_rows), 0)
    await assert_intake_complete(maker, store_root, folder, files, set(good))
    reasons = {name: reason(folder, name).strip() for name in [*BAD, *bad_rows]}
    assert reasons == {
        "program.pdf": "This is not a PDF, JPEG, PNG or TIFF file (whatever its name says).",
        "empty.pdf": "The file is empty.",
        "truncated.pdf": "The PDF is incomplete: it ends before its last part.",
        "no_row.pdf": "There is no row for this file in metadata.csv.",
        "unknown_type.pdf": "document_type: Choose one of the offered values.",
        "bad_customer.pdf": "customer_number: A customer number has 9 digits.",
        "no_customer.pdf": "customer_number: There is no customer with this number.",
        "no_case.pdf": f"case_number: There is no case {YEAR}/000777.",
        "future.pdf": "occurred_at: This time cannot be in the future.",
        "no_subject.pdf": "subject: This field is required.",
        "twice.pdf": f"metadata.csv has more than one row for this file (lines {len(rows)}, {len(rows) + 1}).",
    }
    assert dict(summary.problems) == reasons
    after = await registry_state(maker, store_root)
    assert after["documents"] == before["documents"] + 3
    assert len(after["files"]) == 3  # nothing of the bad ones stored


async def test_a_row_with_the_wrong_number_of_fields_sets_its_file_aside(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    folder = scan_folder(tmp_path, letters(2))
    text = (folder / "metadata.csv").read_text(encoding="utf-8-sig").splitlines()
    text[2] += ",surplus"
    (folder / "metadata.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    summary = await run_import(maker, folder)
    assert (summary.registered, summary.rejected) == (1, 1)
    assert reason(folder, "scan001.pdf").strip() == "Line 3 of metadata.csv has 11 fields instead of 10."


async def test_a_file_the_database_refuses_is_set_aside_and_the_rest_of_its_chunk_registered(
    maker: Maker, store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A constraint no check foresaw: the chunk is retried file by file, each in a savepoint."""
    real = services.register_many

    async def refusing(session: Any, actor: Any, entries: list[services.NewDocument], **kw: Any) -> Any:
        if any(e.filename == "scan001.pdf" for e in entries):
            raise IntegrityError("INSERT INTO documents ...", {}, Exception("simulated constraint"))
        return await real(session, actor, entries, **kw)

    monkeypatch.setattr(services, "register_many", refusing)
    files = letters(3)
    folder = scan_folder(tmp_path, files)
    summary = await run_import(maker, folder)
    assert (summary.registered, summary.rejected) == (2, 1)
    assert "The database refused this file" in reason(folder, "scan001.pdf")
    await assert_intake_complete(maker, store_root, folder, files, {"scan000.pdf", "scan002.pdf"})


async def test_a_file_name_that_is_not_utf8_is_set_aside_with_its_reason(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    folder = scan_folder(tmp_path, letters(1))
    fd = os.open(bytes(folder) + b"/sz\xe1mla.pdf", os.O_WRONLY | os.O_CREAT)  # Latin-1, as an old PC writes it
    os.write(fd, make_pdf("latin-1"))
    os.close(fd)
    summary = await run_import(maker, folder)
    assert (summary.registered, summary.rejected) == (1, 1)
    assert sorted(os.listdir(bytes(folder / "rejected"))) == [b"sz\xe1mla.pdf", b"sz\xe1mla.pdf.reason.txt"]
    assert "not UTF-8" in (folder / "rejected").joinpath(os.fsdecode(b"sz\xe1mla.pdf.reason.txt")).read_text()


async def test_a_file_still_being_written_is_left_for_the_next_run(
    maker: Maker, store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scanner had written half of the file when it was read: it is neither registered nor
    rejected, but left in the folder; the next run takes it whole."""
    whole = make_pdf("lassan írt szkennelés", pages=3)
    files = {"a.pdf": make_pdf("kész"), "b.pdf": whole}
    folder = scan_folder(tmp_path, files)
    (folder / "b.pdf").write_bytes(whole[: len(whole) // 2])
    from backoffice.documents import intake

    real = intake._Run.register

    async def scanner_finishes_meanwhile(self: Any, batch: Any) -> None:
        (folder / "b.pdf").write_bytes(whole)
        await real(self, batch)

    monkeypatch.setattr(intake._Run, "register", scanner_finishes_meanwhile)
    first = await run_import(maker, folder)
    assert (first.registered, first.rejected) == (1, 0)
    assert first.problems == [("b.pdf", "The file changed while it was being imported (is the scanner still "
                                        "writing it?); it was left in the folder.")]
    assert left_in(folder) == {"b.pdf"}
    monkeypatch.setattr(intake._Run, "register", real)
    second = await run_import(maker, folder)
    assert (second.registered, second.rejected) == (1, 0)
    await assert_intake_complete(maker, store_root, folder, files, set(files))


# ---------------------------------------------------------------- duplicates

async def test_the_same_content_twice_in_the_folder_is_registered_once(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    content = make_pdf("kétszer beszkennelt levél")
    files = {"a.pdf": content, "b.pdf": content, "c.pdf": make_pdf("más"), "d.pdf": content}
    folder = scan_folder(tmp_path, files)
    summary = await run_import(maker, folder, chunk=2)  # b in a's chunk, d in the next one
    assert (summary.registered, summary.rejected) == (2, 2)
    await assert_intake_complete(maker, store_root, folder, files, {"a.pdf", "c.pdf"})
    number = (await documents_by_key(maker))[key_of("a.pdf", content)]
    for name in ("b.pdf", "d.pdf"):
        assert reason(folder, name).strip() == f"Duplicate of {number}: the same content is registered already."


async def test_content_registered_earlier_is_set_aside_as_a_duplicate(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    content = make_pdf("már iktatott levél")
    earlier = await register(maker, content)
    folder = scan_folder(tmp_path, {"again.pdf": content, "new.pdf": make_pdf("új")})
    summary = await run_import(maker, folder)
    assert (summary.registered, summary.rejected) == (1, 1)
    assert reason(folder, "again.pdf").strip() == (
        f"Duplicate of {earlier.registry_number}: the same content is registered already.")
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(Document)) == 2


# ---------------------------------------------------------------- what is never a candidate

async def test_csv_names_are_matched_against_the_folder_and_never_used_as_paths(
    maker: Maker, store_root: Path, tmp_path: Path
) -> None:
    outside = make_pdf("a mappán kívül")
    (tmp_path / "outside.pdf").write_bytes(outside)
    folder = scan_folder(tmp_path, letters(1))
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.pdf").write_bytes(make_pdf("almappában"))
    (folder / ".hidden.pdf").write_bytes(make_pdf("rejtett"))
    (folder / "link.pdf").symlink_to(tmp_path / "outside.pdf")
    hostile = ["../outside.pdf", str(tmp_path / "outside.pdf"), "sub/inner.pdf", "sub\\inner.pdf", "..", "",
               "link.pdf", ".hidden.pdf", "absent.pdf"]
    write_csv(folder, [{"file": "scan000.pdf", **ROW}, *({"file": name, **ROW} for name in hostile)])

    summary = await run_import(maker, folder)

    assert (summary.registered, summary.rejected, summary.missing_rows) == (1, 0, len(hostile))
    assert [name for name, _ in summary.problems] == hostile
    problems = dict(summary.problems)
    assert problems["../outside.pdf"] == ("Line 3 of metadata.csv: not a plain file name (it must name a file "
                                          "in the folder itself).")
    assert problems[""] == "Line 8 of metadata.csv names no file."
    assert problems["absent.pdf"] == "Line 11 of metadata.csv: there is no such file in the folder."
    # Nothing outside the folder's own regular files was read, moved or registered.
    assert (tmp_path / "outside.pdf").read_bytes() == outside
    assert (folder / "sub" / "inner.pdf").exists() and (folder / ".hidden.pdf").exists()
    assert (folder / "link.pdf").is_symlink()
    assert len(await documents_by_key(maker)) == 1


# ---------------------------------------------------------------- the run as a whole

async def test_rerunning_a_finished_folder_changes_nothing(maker: Maker, store_root: Path, tmp_path: Path) -> None:
    files = {**letters(3), "empty.pdf": b""}
    folder = scan_folder(tmp_path, files)
    first = await run_import(maker, folder)
    assert (first.registered, first.rejected) == (3, 1)
    before = await registry_state(maker, store_root)
    listing = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    again = await run_import(maker, folder)
    assert again == ImportSummary()
    assert await registry_state(maker, store_root) == before
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == listing


async def test_the_summary_counts_and_progress_add_up(maker: Maker, store_root: Path, tmp_path: Path) -> None:
    files = {**letters(5), "empty.pdf": b"", "no_row.pdf": make_pdf("sor nélkül")}
    rows = [{"file": name, **ROW} for name in [*letters(5), "empty.pdf", "gone.pdf"]]
    folder = scan_folder(tmp_path, files, rows)
    totals: list[int] = []
    steps: list[int] = []
    summary = await run_import(maker, folder, chunk=3, progress=steps.append, on_total=totals.append)
    assert (summary.registered, summary.already_done, summary.rejected, summary.missing_rows) == (5, 0, 2, 1)
    assert totals == [7] and steps == [3, 3, 1]
    assert sorted(name for name, _ in summary.problems) == ["empty.pdf", "gone.pdf", "no_row.pdf"]


@pytest.mark.parametrize("case", ["no folder", "no metadata", "not utf-8", "unknown column", "no file column",
                                  "unknown user", "inactive user", "another run"])
async def test_the_import_refuses_to_start_without_a_usable_folder_csv_or_user(
    maker: Maker, store_root: Path, tmp_path: Path, case: str
) -> None:
    folder = scan_folder(tmp_path, letters(1))
    user = None
    if case == "no folder":
        folder = tmp_path / "nowhere"
    elif case == "no metadata":
        (folder / "metadata.csv").unlink()
    elif case == "not utf-8":
        (folder / "metadata.csv").write_bytes("file,subject\nscan000.pdf,Sz\xe1mla\n".encode("latin-1"))
    elif case == "unknown column":
        (folder / "metadata.csv").write_text("file,document_typ\nscan000.pdf,invoice\n")
    elif case == "no file column":
        (folder / "metadata.csv").write_text("name,document_type\nscan000.pdf,invoice\n")
    elif case == "unknown user":
        user = "nobody"
    elif case == "another run":
        import fcntl

        held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(held, fcntl.LOCK_EX)  # as an import running in another process holds it
    else:
        from backoffice.staff.models import StaffUser

        async with maker() as s, s.begin():
            (await s.scalars(select(StaffUser).where(StaffUser.username == "agent"))).one().is_active = False
        user = "agent"
    before = await registry_state(maker, store_root)
    with pytest.raises(IntakeError) as refused:
        await run_import(maker, folder, user)
    assert str(refused.value.message)
    if case == "another run":
        assert str(refused.value.message) == "Another import of this folder is running."
        os.close(held)
    assert await registry_state(maker, store_root) == before
    if case != "no folder":
        assert left_in(folder) == {"scan000.pdf"}


# ---------------------------------------------------------------- crashes, for real

CLI = [sys.executable, "-c", "from backoffice.cli import main; main()"]
# The importer as a library call, printing each chunk's progress so that the test can kill it mid-way.
SCRIPT = """
import asyncio, sys
from pathlib import Path
from backoffice.db import make_engine, make_sessionmaker
from backoffice.documents import storage
from backoffice.documents.intake import import_folder
from backoffice.documents.storage import LocalFileStore
from backoffice.settings import Settings

settings = Settings.from_env()
storage.configure(LocalFileStore(settings.documents_dir))

async def run():
    engine = make_engine(settings.database_url)
    await import_folder(make_sessionmaker(engine), Path(sys.argv[1]), None, chunk=int(sys.argv[2]),
                        progress=lambda n: print(n, flush=True))
    await engine.dispose()

asyncio.run(run())
"""


def child_env(settings: Settings, crash: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env.update(BACKOFFICE_DATABASE_URL=settings.database_url, BACKOFFICE_VAR_DIR=str(settings.var_dir),
               BACKOFFICE_DEFAULT_LANGUAGE="en")
    if crash:
        env["BACKOFFICE_INTAKE_CRASH"] = crash
    return env


def cli_import(
    settings: Settings, folder: Path, *args: str, crash: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "documents", "import", str(folder), *args], cwd=PROJECT_ROOT,
                          env=child_env(settings, crash), capture_output=True, text=True, timeout=120, check=False)


def crash_folder(tmp_path: Path) -> tuple[Path, dict[str, bytes], set[str]]:
    good = letters(10)
    files = {**good, "bad_empty.pdf": b"", "bad_program.pdf": BAD["program.pdf"]}
    return scan_folder(tmp_path, files), files, set(good)


@pytest.mark.parametrize(("crash", "registered_before", "moved_before"), [
    ("registered:6", 2, 4),  # killed inside the second chunk's transaction: only the first chunk stays
    ("committed:5", 6, 4),  # killed after the second chunk's commit, before any of its files moved
    ("moved:6", 6, 6),  # killed half-way through moving the second chunk's files
])
async def test_a_crash_at_each_point_and_a_rerun_lose_and_duplicate_nothing(
    maker: Maker, store_root: Path, tmp_path: Path, settings: Settings,
    crash: str, registered_before: int, moved_before: int,
) -> None:
    """Chunks of 4 files: [bad_empty, bad_program, scan000, scan001], [scan002..scan005], [scan006..scan009]."""
    folder, files, good = crash_folder(tmp_path)
    crashed = await asyncio.to_thread(cli_import, settings, folder, "--chunk", "4", crash=crash)
    assert crashed.returncode == 137, crashed.stderr
    assert len(await documents_by_key(maker)) == registered_before
    done, rejected = settled(folder)
    assert len(done | rejected) == moved_before

    rerun = await asyncio.to_thread(cli_import, settings, folder, "--chunk", "4")
    assert rerun.returncode == 0, rerun.stderr
    await assert_intake_complete(maker, store_root, folder, files, good)
    committed_not_moved = registered_before - len(done)
    assert rerun.stdout.startswith(f"imported {len(good) - registered_before}, already done {committed_not_moved}, "
                                   "rejected 0")


async def test_killed_at_random_moments_the_import_still_ends_with_every_file_registered_once(
    maker: Maker, store_root: Path, tmp_path: Path, settings: Settings
) -> None:
    """SIGKILL at a random moment after a random number of chunks (reading, registering, committing
    or moving), again and again; then one run to the end."""
    good = letters(30)
    content = good["scan005.pdf"]
    files = {**good, "bad_empty.pdf": b"", "copy_of_5.pdf": content, "truncated.pdf": BAD["truncated.pdf"]}
    folder = scan_folder(tmp_path, files)
    rng = random.Random(20261122)
    kills = 0
    for attempt in range(8):
        with (tmp_path / f"stderr.{attempt}").open("wb") as errors:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", SCRIPT, str(folder), "3", cwd=PROJECT_ROOT, env=child_env(settings),
                stdout=asyncio.subprocess.PIPE, stderr=errors)
            assert proc.stdout is not None
            for _ in range(rng.randrange(0, 3)):  # let it settle this many chunks first
                if not await proc.stdout.readline():
                    break
            await asyncio.sleep(rng.uniform(0, 0.05))
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            await asyncio.wait_for(proc.communicate(), 60)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, (tmp_path / f"stderr.{attempt}").read_text()
    assert kills >= 2
    final = await asyncio.to_thread(cli_import, settings, folder, "--chunk", "3")
    assert final.returncode == 0, final.stderr
    # The copy of scan005.pdf sorts before it, so it is the one registered and scan005.pdf the duplicate.
    registered = (set(good) - {"scan005.pdf"}) | {"copy_of_5.pdf"}
    await assert_intake_complete(maker, store_root, folder, files, registered)


# ---------------------------------------------------------------- the command

async def test_the_command_prints_one_summary_line_and_the_reasons(
    maker: Maker, store_root: Path, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKOFFICE_VAR_DIR", str(settings.var_dir))
    monkeypatch.delenv("BACKOFFICE_STORAGE_DIR", raising=False)
    monkeypatch.setenv("BACKOFFICE_DEFAULT_LANGUAGE", "en")  # the reasons' language unless --language says
    files = {**letters(3), "empty.pdf": b"", "\x1b[2Jnasty.pdf": b""}
    rows = [{"file": name, **ROW} for name in files] + [{"file": "gone.pdf", **ROW}]
    folder = scan_folder(tmp_path, files, rows)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, ["documents", "import", *args], catch_exceptions=False)

    result = await asyncio.to_thread(invoke, str(folder), "--as", "records")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"imported 3, already done 0, rejected 2 (see {folder}/rejected), missing files 1 in ")
    assert lines[0].endswith(" documents/s)")
    assert "empty.pdf: The file is empty." in result.stderr
    assert "\\x1b[2Jnasty.pdf: The file is empty." in result.stderr and "\x1b" not in result.stderr
    assert "gone.pdf: Line 7 of metadata.csv: there is no such file in the folder." in result.stderr
    async with maker() as s:
        assert set(await s.scalars(select(Document.registered_by))) == {"records"}

    again = await asyncio.to_thread(invoke, str(folder))
    assert again.exit_code == 0 and again.stdout.startswith("imported 0, already done 0, rejected 0")

    missing = await asyncio.to_thread(invoke, str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "There is no folder" in missing.stderr
    (folder / "metadata.csv").unlink()
    no_csv = await asyncio.to_thread(invoke, str(folder))
    assert no_csv.exit_code == 1 and "metadata.csv" in no_csv.stderr
    nobody = await asyncio.to_thread(invoke, str(folder), "--as", "nobody")
    assert nobody.exit_code == 1
    write_csv(folder, rows)
    hungarian = await asyncio.to_thread(invoke, str(folder), "--as", "nobody", "--language", "hu")
    assert hungarian.exit_code == 1 and "nobody" in hungarian.stderr and "There is no" not in hungarian.stderr
