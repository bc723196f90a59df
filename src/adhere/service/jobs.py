"""Long queries run as jobs: the request returns at once with a job to poll.

Jobs run one at a time on a worker thread and keep their result for an hour. They are
queries, not writes: a job lost to a restart is asked again, nothing stored is lost.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_KEEP_SECONDS = 3600


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(slots=True)
class Job:
    id: str
    kind: str
    owner: str  # who submitted it (an OAuth client, or "user:<id>"): the only one who may read it
    status: JobStatus
    created: float
    finished: float | None = None
    result: Any = None
    error: str | None = None


class JobRunner:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adhere-job")

    def submit(self, kind: str, work: Callable[[], Any], owner: str) -> Job:
        job = Job(f"job_{secrets.token_urlsafe(12)}", kind, owner, JobStatus.RUNNING, time.time())
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        """The job, to the one who submitted it; to anyone else it does not exist (its result
        may hold agents they do not see)."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job, work: Callable[[], Any]) -> None:
        try:
            job.result = work()
            job.status = JobStatus.SUCCEEDED
        except Exception as error:  # reported to whoever polls the job
            job.error = str(error) or type(error).__name__
            job.status = JobStatus.FAILED
        job.finished = time.time()

    def _forget_old(self) -> None:
        limit = time.time() - _KEEP_SECONDS
        for job_id in [k for k, job in self._jobs.items() if (job.finished or 1e100) < limit]:
            del self._jobs[job_id]
