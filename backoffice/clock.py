"""The operator's calendar: dates that mean days in Hungary are taken in Europe/Budapest,
whatever time zone the server runs in (containers usually run in UTC)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BUDAPEST = ZoneInfo("Europe/Budapest")


def today() -> dt.date:
    return dt.datetime.now(BUDAPEST).date()
