"""How lht waits for an ingest job and which result files it reads: polls paced by the job's
own progress once it reports some, and result files the final counters say are empty left
unread (a JobComplete job with no failed row has no failed or unprocessed rows)."""

from __future__ import annotations

import pytest

from lht.push.sendbulk import result_files
from lht.salesforce.bulk import paced_wait


def test_a_job_with_progress_is_polled_when_its_rate_says_it_ends() -> None:
    # 75,000 of 100,000 rows in 9 s: 3 s to go at the average rate, whatever the backoff scheduled
    assert paced_wait(0.5, 9.0, 75_000, 100_000) == pytest.approx(3.0)
    assert paced_wait(30.0, 9.0, 75_000, 100_000) == pytest.approx(3.0)


def test_the_rate_is_measured_from_the_first_progress_so_start_up_is_not_slowness() -> None:
    # 10,000 rows seen at 2 s, 70,000 at 8 s: 10,000 rows/s since, so 3 s to go (not 3.4 s)
    assert paced_wait(0.5, 8.0, 70_000, 100_000, anchor=(2.0, 10_000)) == pytest.approx(3.0)


def test_paced_waits_stay_between_a_tenth_and_half_of_the_time_spent_and_under_the_cap() -> None:
    assert paced_wait(0.5, 2.0, 99_990, 100_000) == pytest.approx(
        0.2
    )  # nearly done: a tenth of 2 s
    assert paced_wait(0.5, 2.0, 100_000, 100_000) == pytest.approx(
        0.2
    )  # all counted, not yet final
    assert paced_wait(0.5, 0.4, 99_990, 100_000) == pytest.approx(0.1)  # never under 0.1 s
    assert paced_wait(0.5, 60.0, 99_990, 100_000) == 0.5  # nor over the first wait
    assert (
        paced_wait(0.5, 2.0, 1_000, 100_000) == 1.0
    )  # a long estimate: never more than half the time spent
    assert paced_wait(0.5, 120.0, 1_000, 100_000) == 30.0  # slow: never longer than the cap


def test_without_progress_or_a_size_the_backoff_wait_stands() -> None:
    assert paced_wait(0.65, 2.0, 0, 100_000) == 0.65
    assert paced_wait(0.65, 2.0, 500, None) == 0.65


def test_result_files_the_final_counters_say_are_empty_are_not_read() -> None:
    done = {"state": "JobComplete", "numberRecordsProcessed": 10, "numberRecordsFailed": 0}
    assert result_files(done, 10) == ["successful"]
    assert result_files({**done, "numberRecordsFailed": 2}, 10) == ["successful", "failed"]
    assert result_files(done, None) == ["successful", "unprocessed"]  # rows not known: read it
    assert result_files({**done, "numberRecordsProcessed": 8}, 10) == ["successful", "unprocessed"]
    failed = {"state": "Failed", "numberRecordsProcessed": 0, "numberRecordsFailed": 0}
    assert result_files(failed, 10) == ["successful", "failed", "unprocessed"]
