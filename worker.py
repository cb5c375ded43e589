"""The worker process: builds the app once, relays the outbox, and works the events, images and default queues."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import StopRequested

from app import create_app
from app.adapters.queue import QUEUE_NAMES, PromptForkWorker, PromptSimpleWorker
from app.domain import masters
from app.extensions import db

log = logging.getLogger("aeontel.worker")
JOB_MODULES = ("app.jobs.events", "app.jobs.files", "app.jobs.images", "app.jobs.removals")


def run_maintenance_once(app) -> None:
    """Relays undispatched events, re-enqueues due provisioning and sweeps stale and expired uploads; a Redis lock keeps many
    workers from doing it twice."""
    from app.domain import idempotency
    from app.domain.events import relay
    from app.domain.files import sweep_stale_uploads
    from app.domain.images import reconcile
    from app.domain.resumable import purge_expired as purge_expired_resumable
    from app.domain.upload_urls import purge_expired
    from app.domain.versions import reconcile as reconcile_versions

    queue = app.extensions["queue"]
    with app.app_context():
        try:
            lock = queue.lock("maintenance", seconds=max(app.config["RELAY_INTERVAL_SECONDS"], 1.0))
            if not lock.acquire():
                return
        except (RedisError, OSError):
            return  # Redis is away: nothing can be relayed until it is back.
        try:
            relay()
            reconcile()
            reconcile_versions()
            sweep_stale_uploads()
            purge_expired()
            purge_expired_resumable()
            idempotency.purge_expired()
        except Exception:  # noqa: BLE001 - maintenance must never stop the worker
            log.exception("maintenance pass failed")
        finally:
            db.session.remove()


def run_removals_once(app) -> None:
    """Purges files whose time in the trash ran out and carries out due removals of Images copies and stored bytes;
    no lock, as each row is claimed atomically, so they go on while Redis is away."""
    from app.domain.removals import work_due
    from app.domain.trash import purge_due

    with app.app_context():
        try:
            purge_due()
            work_due()
        except Exception:  # noqa: BLE001 - maintenance must never stop the worker
            log.exception("removal pass failed")
        finally:
            db.session.remove()


def run_webhooks_once(app) -> None:
    """Sends due webhook deliveries from their rows; no lock, as each row is claimed atomically, so they go on while
    Redis is away."""
    from app.domain.webhooks import purge_old, work_due

    with app.app_context():
        try:
            work_due()
            purge_old()
        except Exception:  # noqa: BLE001 - maintenance must never stop the worker
            log.exception("webhook pass failed")
        finally:
            db.session.remove()


def start_maintenance(app, stop: threading.Event) -> list[threading.Thread]:
    """Three loops, so that a hanging images service or webhook endpoint never holds up the outbox relay."""

    def every_interval(task) -> None:
        while not stop.wait(app.config["RELAY_INTERVAL_SECONDS"]):
            task(app)

    threads = [
        threading.Thread(target=every_interval, args=(task,), name=name, daemon=True)
        for task, name in (
            (run_maintenance_once, "outbox-relay"),
            (run_removals_once, "removals"),
            (run_webhooks_once, "webhooks"),
        )
    ]
    for thread in threads:
        thread.start()
    return threads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--simple", action="store_true", help="run jobs in this process (the default)")
    kind.add_argument("--fork", action="store_true", help="run each job in a forked child (RQ's Worker)")
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)

    masters.return_freed_buffers()  # the memory a master's buffers took goes back to the system (RELIABILITY.md)
    flask_app = create_app()
    for module in JOB_MODULES:
        importlib.import_module(module)  # preload once, before forking, so each job starts warm

    with flask_app.app_context():
        engine = db.engine
        # A forked work horse must not share the parent's database connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        stop = threading.Event()
        if not args.burst:
            start_maintenance(flask_app, stop)
        # SimpleWorker by default: a job starts in about 5 ms instead of 40-120 ms for a fork of this process
        # (bench/RESULTS.md); jobs are short, time-limited by RQ and idempotent, and a dead worker's work is
        # taken over by another after its lease. --fork isolates each job in a child process instead. Both stop
        # within a second of SIGTERM (RQ's own wait for its pub/sub thread could take a minute).
        worker_class = PromptForkWorker if args.fork else PromptSimpleWorker
        # Blocking dequeues wait longer than the request-side socket timeout, so the worker gets its own connection.
        connection = Redis.from_url(flask_app.config["REDIS_URL"], socket_connect_timeout=5, health_check_interval=30)
        worker = worker_class(list(QUEUE_NAMES), connection=connection, name=args.name)
        # After a Redis outage, pick up again within seconds rather than after RQ's default backoff of up to a minute.
        worker.max_connection_wait_time = 4.0
        try:
            work_through_redis_outages(worker, burst=args.burst)
        finally:
            stop.set()


def work_through_redis_outages(worker, burst: bool) -> None:
    """RQ's loop quits when Redis goes away while it finishes a job (its bookkeeping raises a connection error), so
    this process waits for Redis to answer and starts the loop again: a restart of any length loses no worker, and a
    job whose bookkeeping was lost is provisioned again from its row (jobs are idempotent)."""
    while True:
        try:
            # No RQ scheduler: retries are rows the maintenance thread picks up, so none waits on a scheduler child
            # (which died with Redis and stayed defunct); nothing is enqueued with enqueue_in/at or rq.Retry.
            worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
        except (RedisError, OSError) as exc:
            log.warning("the work loop lost Redis (%s); waiting for it to come back", exc)
        except StopRequested:
            return
        if burst or worker._shutdown_requested_date is not None:
            return  # a clean end: the queues are empty (burst) or we were told to stop
        try:
            wait_for_redis(worker)
        except StopRequested:
            return
        log.info("Redis answers again; worker %s starts its loop again", worker.name)


def wait_for_redis(worker) -> None:
    """Polls Redis at most max_connection_wait_time apart until it answers, then marks the lost loop's registration
    dead (a worker key without a death date would refuse the new birth). Its pub/sub thread is left to end by itself:
    redis-py joins it without a timeout, which can take its 60 s poll."""
    delay = 0.1
    while True:
        try:
            worker.connection.ping()
            break
        except (RedisError, OSError):
            threading.Event().wait(delay)
            delay = min(delay * 2, worker.max_connection_wait_time)
    try:
        worker.register_death()
    except (RedisError, OSError):
        pass


if __name__ == "__main__":
    main()
