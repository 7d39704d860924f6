"""Grading: a member's submission from upload to score, and the worker's side of it.

    submit      validate and store an answer or a notebook (typed answers with a cached
                value are graded in the same transaction)
    queue       the only way to queue a grading job (submit, regrade, requeue, variant warm-up,
                exercise import); requeues what dead workers or a down sandbox left behind
    results     record a result and move the member's best score, in one transaction
    answers     the result document of a typed answer
    views       a submission as the API shows it; who may see it
    references  reference values, cached by content hash, computed by workers
    health      is the sandbox up (workers write, pages read); monitor: the worker's checker
    regrade     regrading after a spec changed
    imports     an instructor's notebook import (import_requests queues it, import_job runs it)
    datasets    the dataset store as the server sees it

server/jobs.py holds the queue's tasks: it calls the graders and these modules record.
"""
