"""Many jobs in one pipeline (a bulk action's events), and the same call when Redis is away."""

from rq.job import Job

from app.adapters.queue import RQQueue


def test_many_jobs_go_in_one_pipeline_with_their_ids(redis_url):
    queue = RQQueue(redis_url)
    queue.connection.flushdb()
    calls = [((f"evt_{i}",), f"event-evt_{i}") for i in range(50)]
    assert queue.try_enqueue_many("events", "app.jobs.events.dispatch_event", calls, timeout=120) is True
    jobs = Job.fetch_many([job_id for _, job_id in calls], connection=queue.connection)
    assert [job.args for job in jobs] == [(f"evt_{i}",) for i in range(50)]
    assert queue.queue("events").count == 50 and jobs[0].timeout == 120
    queue.connection.flushdb()


def test_an_unreachable_redis_is_reported_not_raised(caplog):
    queue = RQQueue("redis://127.0.0.1:9/0")
    assert queue.try_enqueue_many("events", "app.jobs.events.dispatch_event", [(("evt_1",), "event-evt_1")]) is False
    assert "they will be relayed later" in caplog.text
