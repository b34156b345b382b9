"""`make bench` (billing part): a bill run for about 10,000 accounts, 20,000 services and 1,000,000
usage records on SQLite, and the same for 2,000 accounts to compare peak memory.

Each database is seeded by the real commands (`backoffice seed`, `backoffice billing import-usage`);
the draft and the confirmation run in child processes that report their own time and peak RSS.
Figures are printed as `name: value unit`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from run import ROOT, BenchError, Processes, backoffice_command, clean_env, figure, free_ports, note, run_checked
from run import main as run_main

PERIOD = "2026-10"
SEED = 1
# About 0.97 billed accounts and 2.1 services per seeded customer (the demo seed's mix).
SIZES = {"large": (10_300, 1_000_000), "small": (2_060, 200_000)}
# The targets.
DRAFT_INVOICES_PER_S_MIN = 250.0
PDFS_PER_S_PER_CORE_MIN = 60.0
MEMORY_RATIO_MAX = 1.2

# The run's two phases as library calls, timed inside the child (no start-up), with its peak RSS.
CHILD = """
import asyncio, json, resource, sys, threading, time
import backoffice.models
from backoffice.billing import runs
from backoffice.billing.invoices import Seller
from backoffice.db import make_engine, make_sessionmaker
from backoffice.documents import storage
from backoffice.documents.storage import LocalFileStore
from backoffice.settings import Settings
from sqlalchemy import func, select
from backoffice.billing.models import Invoice

settings = Settings.from_env()
storage.configure(LocalFileStore(settings.documents_dir))
period = runs.parse_period(sys.argv[2])
peak_anon = 0

def sample():
    # The process's own memory (RssAnon), apart from the database file's pages that SQLite maps in
    # (RssFile): those are the kernel's page cache, shared and dropped under pressure.
    global peak_anon
    while True:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    peak_anon = max(peak_anon, int(line.split()[1]))
        time.sleep(0.02)

threading.Thread(target=sample, daemon=True).start()

async def main():
    engine = make_engine(settings.database_url, sqlite_cache_mib=runs.BATCH_SQLITE_CACHE_MIB)  # as the command
    maker = make_sessionmaker(engine)
    started = time.perf_counter()
    if sys.argv[1] == "draft":
        await runs.draft(maker, None, period)
    else:
        await runs.confirm(maker, None, period, Seller.from_settings(settings))
    seconds = time.perf_counter() - started
    async with maker() as session:
        invoices = await session.scalar(select(func.count()).select_from(Invoice))
    await engine.dispose()
    return seconds, invoices

seconds, invoices = asyncio.run(main())
print(json.dumps({"seconds": seconds, "invoices": invoices, "peak_anon_mb": peak_anon / 1024,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def usage_file(db: Path, path: Path, records: int) -> int:
    """October's calls, texts and data of every numbered service active all month, about the same
    number per service, in random order (mediation files are not sorted)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        numbers = [row[0] for row in conn.execute(
            "SELECT number FROM services WHERE number IS NOT NULL AND activated_on <= '2026-10-01' "
            "AND (ended_on IS NULL OR ended_on > '2026-10-31') ORDER BY id")]
    if not numbers:
        raise BenchError("the seed made no numbered services")
    rng = random.Random(SEED)
    kinds = ["voice"] * 5 + ["sms"] * 2 + ["data"] * 2 + ["roaming-voice", "roaming-data"]
    with path.open("w") as out:
        out.write("service_number,start_time,type,destination,quantity\n")
        for i in range(records):
            number = numbers[i % len(numbers)]
            kind = rng.choice(kinds)
            day, second = rng.randrange(1, 32), rng.randrange(86_400)
            start = f"2026-10-{day:02d} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            if kind.endswith("voice"):
                destination, quantity = f"+3620{rng.randrange(10**7):07d}", rng.randrange(0, 900)
            elif kind == "sms":
                destination, quantity = f"+3630{rng.randrange(10**7):07d}", 1
            else:
                destination, quantity = "internet", rng.randrange(10_000, 50_000_000)
            out.write(f"{number},{start},{kind},{destination},{quantity}\n")
    return len(numbers)


def child(phase: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, phase, PERIOD], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise BenchError(f"the {phase} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def prepare(work: Path, name: str, customers: int, records: int) -> tuple[dict[str, str], Path]:
    var_dir = work / name
    env = clean_env(var_dir, free_ports(1)[0])
    command = backoffice_command()
    run_checked([*command, "migrate"], env, "backoffice migrate")
    started = time.perf_counter()
    run_checked([*command, "seed", "--customers", str(customers), "--seed", str(SEED)], env, "seeding")
    note(f"{name}: seeded {customers} customers in {time.perf_counter() - started:.1f} s")
    db = var_dir / "backoffice.sqlite3"
    csv_path = work / f"{name}-usage.csv"
    services = usage_file(db, csv_path, records)
    started = time.perf_counter()
    out = run_checked([*command, "billing", "import-usage", str(csv_path)], env, "importing usage")
    seconds = time.perf_counter() - started
    note(f"{name}: {out.strip()}")
    figure(f"billing_{name}_usage_import_rows_per_s", records / seconds, "rows/s")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        imported = conn.execute("SELECT count(*) FROM usage_records").fetchone()[0]
        duplicates, rejected = conn.execute("SELECT rows_duplicate, rows_rejected FROM usage_imports").fetchone()
        all_services = conn.execute("SELECT count(*) FROM services").fetchone()[0]
    # Random records may repeat one (same number, second, type and destination): counted, not stored.
    if imported + duplicates != records or rejected:
        raise BenchError(f"{name}: {imported} of {records} usage records imported, {rejected} rejected")
    figure(f"billing_{name}_services", all_services, "services")
    figure(f"billing_{name}_numbered_services_with_usage", services, "services")
    figure(f"billing_{name}_usage_records", imported, "records")
    return env, db


def bench(work: Path, procs: Processes) -> list[str]:
    missed = []
    rss: dict[str, float] = {}
    for name, (customers, records) in SIZES.items():
        env, db = prepare(work, name, customers, records)
        drafted = child("draft", env)
        invoices = drafted["invoices"]
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            lines = conn.execute("SELECT count(*) FROM invoice_lines").fetchone()[0]
        figure(f"billing_{name}_accounts_invoiced", invoices, "invoices")
        figure(f"billing_{name}_invoice_lines", lines, "lines")
        figure(f"billing_{name}_draft_seconds", drafted["seconds"], "s")
        rate = invoices / drafted["seconds"]
        figure(f"billing_{name}_draft_invoices_per_s", rate, "invoices/s")
        figure(f"billing_{name}_draft_peak_rss_with_mapped_db", drafted["max_rss_mb"], "MB")
        figure(f"billing_{name}_draft_peak_own_memory", drafted["peak_anon_mb"], "MB")
        rss[name] = drafted["peak_anon_mb"]
        if name == "large" and rate < DRAFT_INVOICES_PER_S_MIN:
            missed.append("draft invoices/s")
        if name == "small":
            confirmed = child("confirm", env)
            pdfs = confirmed["invoices"] / confirmed["seconds"]
            figure("billing_small_confirm_seconds", confirmed["seconds"], "s")
            figure("billing_confirm_pdfs_per_s_one_core", pdfs, "invoices/s")
            figure("billing_small_confirm_peak_own_memory", confirmed["peak_anon_mb"], "MB")
            if pdfs < PDFS_PER_S_PER_CORE_MIN:
                missed.append("PDFs/s per core")
    ratio = rss["large"] / rss["small"]
    figure("billing_draft_peak_own_memory_large_over_small", ratio, "x")
    if ratio > MEMORY_RATIO_MAX:
        missed.append("memory large/small")
    return missed


def main() -> int:
    return run_main(bench, "billing_")


if __name__ == "__main__":
    sys.exit(main())
