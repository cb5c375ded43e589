"""The RQ side of the product: one Redis connection per process, queues named by purpose, enqueue by dotted path."""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, SimpleWorker, Worker
from rq.job import Job, JobStatus

log = logging.getLogger(__name__)

QUEUE_NAMES = ("events", "images", "default")
# After an enqueue fails, requests stop trying for this long: a hung Redis costs one wait, not one per upload.
SKIP_AFTER_FAILURE = 5.0
# How often a worker's pub/sub thread wakes: RQ polls every 60 s, and redis-py joins that thread without a timeout
# when the worker stops, so a SIGTERM or the end of a burst waited up to a minute for it.
COMMAND_POLL_SECONDS = 1.0


class PromptCommands:
    """RQ's pub/sub command thread with a short poll, so that a worker told to stop ends within a second of its
    job instead of a minute later; commands still arrive at once."""

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=COMMAND_POLL_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler
        )


class PromptSimpleWorker(PromptCommands, SimpleWorker):
    """Runs jobs in this process (the worker's default) and stops promptly."""


class PromptForkWorker(PromptCommands, Worker):
    """Runs each job in a forked work horse (`worker.py --fork`) and stops promptly."""


class BurstWorker(SimpleWorker):
    """Works the queues in this process until they are empty, taking no pub/sub commands: a burst in a test,
    benchmark or maintenance command has no one to send them, and ends without waiting on the command thread."""

    def subscribe(self) -> None:
        self.pubsub_thread = None

    def unsubscribe(self) -> None:
        return None


class RQQueue:
    def __init__(self, redis_url: str, timeout: float = 1.0):
        self.redis_url = redis_url
        # Short timeouts (REDIS_TIMEOUT): a request that enqueues must not hang on a Redis that is away or hung; the
        # outbox relay enqueues what was skipped.
        self.connection = Redis.from_url(redis_url, socket_connect_timeout=timeout, socket_timeout=timeout)
        self._skip_until = 0.0

    def queue(self, name: str) -> Queue:
        if name not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {name!r}")
        return Queue(name, connection=self.connection)

    def enqueue(
        self,
        queue_name: str,
        func: str,
        *args,
        job_id: str | None = None,
        timeout: int = 180,
        retry: Retry | None = None,
        description: str | None = None,
    ) -> Job:
        return self.queue(queue_name).enqueue(
            str(func),  # a plain dotted path in Redis, whatever kind of str named it
            *args,
            job_id=job_id,
            job_timeout=timeout,
            retry=retry,
            description=description,
            result_ttl=600,
            failure_ttl=7 * 24 * 3600,
        )

    def try_enqueue(self, queue_name: str, func: str, *args, **kwargs) -> Job | None:
        """Enqueue, or log and return None when Redis cannot be reached (the caller has a durable fallback)."""
        if time.monotonic() < self._skip_until:
            return None  # Redis failed moments ago; the relay will enqueue this
        try:
            return self.enqueue(queue_name, func, *args, **kwargs)
        except (RedisError, OSError) as exc:
            self._skip_until = time.monotonic() + SKIP_AFTER_FAILURE
            log.warning("could not enqueue %s (%s); it will be relayed later", func, exc)
            return None

    def try_enqueue_many(self, queue_name: str, func: str, calls: list[tuple[tuple, str]], timeout: int = 180) -> bool:
        """Enqueues `(args, job_id)` calls in one Redis pipeline (a bulk action's hundreds of events in one round
        trip); False, logged, when Redis cannot be reached."""
        queue = self.queue(queue_name)
        datas = [
            Queue.prepare_data(
                str(func), args, job_id=job_id, timeout=timeout, result_ttl=600, failure_ttl=7 * 24 * 3600
            )
            for args, job_id in calls
        ]
        try:
            with self.connection.pipeline() as pipe:
                queue.enqueue_many(datas, pipeline=pipe)
                pipe.execute()
            return True
        except (RedisError, OSError) as exc:
            log.warning("could not enqueue %d × %s (%s); they will be relayed later", len(calls), func, exc)
            return False

    def live_job_ids(self, job_ids: list[str]) -> set[str]:
        """Ids among these whose job is still waiting or running, so it needs no second copy."""
        if not job_ids:
            return set()
        live = set()
        for job in Job.fetch_many(job_ids, connection=self.connection):
            if job is None:
                continue
            status = job.get_status(refresh=False)
            if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
                live.add(job.id)
        return live

    def lock(self, name: str, seconds: float):
        return self.connection.lock(f"aeontel:lock:{name}", timeout=seconds, blocking=False)

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except (RedisError, OSError):
            return False
