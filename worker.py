"""The worker process: builds the app once, relays the outbox, and works the events, images and default queues."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker

from app import create_app
from app.adapters.queue import QUEUE_NAMES
from app.extensions import db

log = logging.getLogger("aeontel.worker")
JOB_MODULES = ("app.jobs.events", "app.jobs.files", "app.jobs.images", "app.jobs.removals")


def run_maintenance_once(app) -> None:
    """Relays undispatched events, re-enqueues due provisioning and sweeps stale uploads; a Redis lock keeps many
    workers from doing it twice."""
    from app.domain.events import relay
    from app.domain.files import sweep_stale_uploads
    from app.domain.images import reconcile
    from app.domain.uploads import purge_expired

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
            sweep_stale_uploads()
            purge_expired()
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
        # taken over by another after its lease. --fork isolates each job in a child process instead.
        worker_class = Worker if args.fork else SimpleWorker
        # Blocking dequeues wait longer than the request-side socket timeout, so the worker gets its own connection.
        connection = Redis.from_url(flask_app.config["REDIS_URL"], socket_connect_timeout=5, health_check_interval=30)
        worker = worker_class(list(QUEUE_NAMES), connection=connection, name=args.name)
        # After a Redis outage, pick up again within seconds rather than after RQ's default backoff of up to a minute.
        worker.max_connection_wait_time = 4.0
        try:
            # No RQ scheduler: retries are rows the maintenance thread picks up, so none waits on a scheduler child
            # (which died with Redis and stayed defunct); nothing is enqueued with enqueue_in/at or rq.Retry.
            worker.work(burst=args.burst, with_scheduler=False, logging_level="INFO")
        finally:
            stop.set()


if __name__ == "__main__":
    main()
