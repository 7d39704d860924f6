"""The web server's entry point: gunicorn, with the app loaded once before the workers fork.

Each gevent worker used to import and warm the app itself: ~200 MB a process, so two workers
on PostgreSQL came to 375 MB. Preloaded, the workers share the master's pages (imports,
compiled templates) copy-on-write. gevent must patch the standard library before anything
else is imported, or the preloaded app would hold real thread locks that block a whole
worker: hence this module, not `python -m gunicorn`.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from gunicorn.app.wsgiapp import run  # noqa: E402

if __name__ == "__main__":
    sys.exit(run())
