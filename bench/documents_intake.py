"""`make bench`: bulk intake of 2,000 scanned PDFs of about 100 KB through `backoffice documents import`,
against `sha256sum` over the same files in the same run (the floor no registration can beat).

A fresh migrated SQLite database and content store in a throw-away directory under /tmp; the files are
generated first, so both `sha256sum` and the import read them from a warm page cache. The import is the
real command in its own process, timed from start to exit (interpreter start-up included). Figures are
printed as `name: value unit`.
"""

from __future__ import annotations

import csv
import io
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from run import BenchError, backoffice_command, clean_env, figure, note, run_checked, stopped_on_signals

FILES = 2000
FILE_BYTES = 100_000
CUSTOMERS = 40
SEED = 1
CHUNK = 50
# The target.
RATE_MIN = 200.0


def scan_pdf(rng: random.Random, label: str) -> bytes:
    """What a scanner sends: one A4 page holding a greyscale JPEG (random noise, so that it does not
    compress and every file differs) and a line of text; about FILE_BYTES in all."""
    side = 358
    noise = Image.frombytes("L", (side, side), rng.randbytes(side * side))
    buffer = io.BytesIO()
    noise.save(buffer, format="JPEG", quality=90)
    jpeg = buffer.getvalue()
    text = f"BT /F1 10 Tf 40 800 Td ({label}) Tj ET\nq 515 0 0 515 40 200 cm /Im0 Do Q\n".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R "
        b"/Resources << /XObject << /Im0 4 0 R >> /Font << /F1 6 0 R >> >> >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Filter /DCTDecode /Length %d >>\nstream\n%b\nendstream" % (side, side, len(jpeg), jpeg),
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%b\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_folder(folder: Path, customer_numbers: list[str]) -> int:
    """FILES distinct scans and their metadata.csv; a quarter are linked to a customer. Returns the bytes written."""
    rng = random.Random(SEED)
    folder.mkdir()
    total = 0
    rows = []
    for i in range(FILES):
        name = f"scan_{i:05d}.pdf"
        data = scan_pdf(rng, f"Beolvasott level {i}")
        (folder / name).write_bytes(data)
        total += len(data)
        rows.append({
            "file": name, "document_type": rng.choice(["complaint_letter", "general_correspondence",
                                                        "subscriber_contract"]),
            "direction": "incoming", "channel": "post", "correspondent": f"Ügyfél {i}",
            "subject": f"Beérkezett levél {i}", "occurred_at": "2026-01-15 09:30",
            "customer_number": customer_numbers[i % len(customer_numbers)] if i % 4 == 0 else "",
        })
    with (folder / "metadata.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return total


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None, what: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def bench(work: Path) -> list[str]:
    if shutil.which("sha256sum") is None:
        raise BenchError("sha256sum is not installed (Debian: coreutils)")
    var_dir = work / "var"
    env = clean_env(var_dir, 0)
    command = backoffice_command()
    note(f"working in {work}")
    run_checked([*command, "migrate"], env, "backoffice migrate")
    run_checked([*command, "seed", "--customers", str(CUSTOMERS), "--seed", str(SEED)], env, "seeding customers")
    db = var_dir / "backoffice.sqlite3"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        customer_numbers = [r[0] for r in conn.execute("SELECT customer_number FROM parties ORDER BY id")]

    folder = work / "scans"
    size = make_folder(folder, customer_numbers)
    names = sorted(p.name for p in folder.glob("*.pdf"))
    note(f"{len(names)} files, {size / len(names) / 1000:.0f} KB each on average")

    sha_s, sums = timed(["sha256sum", *names], folder, None, "sha256sum")
    if len(sums.splitlines()) != FILES:
        raise BenchError("sha256sum did not hash every file")
    intake_s, out = timed([*command, "documents", "import", str(folder), "--chunk", str(CHUNK)], work, env,
                          "backoffice documents import")
    note(out.strip())
    match = re.search(r"imported (\d+), already done (\d+), rejected (\d+)", out)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        registered = conn.execute("SELECT count(*) FROM documents WHERE intake_key IS NOT NULL").fetchone()[0]
    moved = len(list((folder / "done").iterdir()))
    if match is None or int(match.group(1)) != FILES or registered != FILES or moved != FILES:
        raise BenchError(f"expected {FILES} registered and moved, found {registered} rows and {moved} moved: {out}")

    rate = FILES / intake_s
    figure("documents_intake_rate", rate, "documents/s")
    figure("documents_intake_s", intake_s, "s")
    figure("documents_intake_sha256sum_s", sha_s, "s")
    figure("documents_intake_ratio_vs_sha256sum", intake_s / sha_s, "x")
    return [] if rate >= RATE_MIN else ["documents_intake_rate"]


def main() -> int:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="backoffice-bench-intake-", dir="/tmp"))
    status = 0
    with stopped_on_signals():
        try:
            missed = bench(work)
            print(f"documents_intake_targets: {'all met' if not missed else 'MISSED ' + ', '.join(missed)}",
                  flush=True)
        except BenchError as exc:
            note(f"bench failed: {exc}")
            status = 1
        finally:
            shutil.rmtree(work, ignore_errors=True)
            figure("documents_intake_bench_total", time.perf_counter() - started, "s")
    return status


if __name__ == "__main__":
    sys.exit(main())
