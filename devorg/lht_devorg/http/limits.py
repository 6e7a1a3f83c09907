"""The org's API usage counters: the per-day request allowance and Bulk 2.0 job counts.

Salesforce counts every authenticated API request against a 24-hour allowance and
reports it in the ``Sforce-Limit-Info: api-usage=USED/MAX`` response header; once the
allowance is spent, calls fail with 403 REQUEST_LIMIT_EXCEEDED. Bulk API 2.0 query jobs
have an allowance of their own (10,000 per 24 hours, ``DailyBulkV2QueryJobs`` in
``limits/``); once it is spent, creating a query job fails with ``ExceededQuota`` ("the
job or batch you tried to create exceeds the allowed number for the past 24-hour
period", Bulk API 2.0's error list) while every other call still works. The local org
resets its counters at midnight UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class ApiLimits:
    """Thread-safe per-day counters for API requests and Bulk 2.0 query jobs."""

    def __init__(
        self, daily_max: int = 15000, bulk_jobs_max: int = 10000, clock: Clock = utc_now
    ) -> None:
        self.daily_max = daily_max
        self.bulk_jobs_max = bulk_jobs_max
        self._clock = clock
        self._lock = threading.Lock()
        self._day: date = clock().date()
        self._used = 0
        self._bulk_jobs = 0
        self._bulk_batches = 0

    def _roll(self) -> None:
        today = self._clock().date()
        if today != self._day:
            self._day, self._used, self._bulk_jobs, self._bulk_batches = today, 0, 0, 0

    def consume(self) -> bool:
        """Count one API request. False (and nothing counted) once the day's allowance is spent."""
        with self._lock:
            self._roll()
            if self._used >= self.daily_max:
                return False
            self._used += 1
            return True

    def take_bulk_job(self) -> bool:
        """Count one Bulk 2.0 query job about to be created. False (nothing counted) once the
        day's query jobs are spent."""
        with self._lock:
            self._roll()
            if self._bulk_jobs >= self.bulk_jobs_max:
                return False
            self._bulk_jobs += 1
            return True

    def set_bulk_jobs(self, used: int | None = None, maximum: int | None = None) -> None:
        """Set today's Bulk 2.0 query job count and/or the daily maximum (tests, the demo)."""
        with self._lock:
            self._roll()
            if used is not None:
                self._bulk_jobs = max(0, used)
            if maximum is not None:
                self.bulk_jobs_max = max(0, maximum)

    def count_bulk_batches(self, n: int) -> None:
        """Count ``n`` Bulk batches (an ingest job's rows, 10,000 a batch)."""
        with self._lock:
            self._roll()
            self._bulk_batches += n

    def set_bulk_batches(self, used: int) -> None:
        """Set today's Bulk batch count (for tests that need a nearly spent ingest allowance)."""
        with self._lock:
            self._roll()
            self._bulk_batches = max(0, used)

    def set_used(self, used: int) -> None:
        """Set today's request count (for tests that need a nearly spent allowance)."""
        with self._lock:
            self._roll()
            self._used = max(0, used)

    @property
    def used(self) -> int:
        """Requests counted today."""
        with self._lock:
            self._roll()
            return self._used

    @property
    def bulk_jobs(self) -> int:
        """Bulk 2.0 query jobs created today."""
        with self._lock:
            self._roll()
            return self._bulk_jobs

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.used}/{self.daily_max}"

    def limits_body(self) -> dict[str, dict[str, int]]:
        """The body of ``GET limits/``: the common keys with Max and Remaining."""
        used, jobs = self.used, self.bulk_jobs

        def pair(maximum: int, remaining: int | None = None) -> dict[str, int]:
            return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

        return {
            "ConcurrentAsyncGetReportInstances": pair(200),
            "ConcurrentSyncReportRuns": pair(20),
            "DailyApiRequests": pair(self.daily_max, max(0, self.daily_max - used)),
            "DailyAsyncApexExecutions": pair(250000),
            "DailyBulkApiBatches": pair(15000, max(0, 15000 - self._bulk_batches)),
            "DailyBulkV2QueryFileStorageMB": pair(1048576),
            "DailyBulkV2QueryJobs": pair(self.bulk_jobs_max, max(0, self.bulk_jobs_max - jobs)),
            "DailyDurableStreamingApiEvents": pair(10000),
            "DailyGenericStreamingApiEvents": pair(10000),
            "DailyStandardVolumePlatformEvents": pair(10000),
            "DailyStreamingApiEvents": pair(10000),
            "DataStorageMB": pair(5),
            "FileStorageMB": pair(20),
            "HourlyAsyncReportRuns": pair(1200),
            "HourlyDashboardRefreshes": pair(200),
            "HourlyODataCallout": pair(10000),
            "HourlySyncReportRuns": pair(500),
            "HourlyTimeBasedWorkflow": pair(50),
            "MassEmail": pair(10),
            "SingleEmail": pair(15),
        }
