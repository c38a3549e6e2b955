"""gunicorn for the line's webhooks: gunicorn -c gunicorn.conf.py wsgi:app

The clock never runs here: `intake worker` is its own process (deploy/intake-worker.service).
Every number below is explained; README "Running in production" says how they were chosen.
Any of them can be overridden without editing this file: GUNICORN_CMD_ARGS="--threads 8".
"""

import os
import shutil
import tempfile


def setting(name: str, default: str) -> str:
    """An environment variable; empty counts as unset (.env.example leaves many empty)."""
    return os.environ.get(name, "").strip() or default


# Where: behind nginx on the same host, loopback only; in a container, HOST=0.0.0.0.
bind = [f"{setting('HOST', '127.0.0.1')}:{setting('PORT', '8000')}"]

# How many. Measured on 2 shared cores (deploy/measure_gunicorn.py, PostgreSQL; README
# "gunicorn's settings" has the table): gthread answered bursts of whole intakes as fast
# as sync or up to 3 times faster, and a text stuck on a database lock for 4 s held up a sync
# process (p95 5.7 s for everyone else) but not a gthread one (1.1 s). The work is short
# database transactions, not CPU: a process per core, a few threads each.
workers = int(setting("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(setting("GUNICORN_THREADS", "4"))

# Time. A webhook answers within 5 s by design (every database wait gives up after 4 s and
# the line answers the emergency words from memory); Twilio gives up at 15 s and fetches
# the fallback URL (the TwiML Bin). A process whose main loop has not checked in for 10 s
# is stuck: it is killed and restarted well before Twilio gives up. (With gthread one slow
# request does not stop that loop: nginx cuts a request at 12 s, deploy/nginx.conf, and
# Twilio still has time to fetch the fallback.)
timeout = 10
graceful_timeout = 10  # a restart lets requests in flight (5 s at most) finish
# nginx keeps idle connections to us for 60 s (its upstream keepalive_timeout in
# deploy/nginx.conf);
# we keep them longer, so nginx never reuses a connection we have just closed (a 502).
keepalive = 75

# The proxy: nginx sets X-Forwarded-Proto and X-Forwarded-For. Trusted only from these
# addresses (nginx on the same host; set FORWARDED_ALLOW_IPS to nginx's address otherwise).
# Signatures and links do not depend on it: they use PUBLIC_BASE_URL, never the Host header.
forwarded_allow_ips = setting("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# Logs on stdout and stderr (journald or the container runtime keeps them). The access log
# shows the path without its query string (ours carry case ids: ?case=12) and no referer;
# bodies are never logged (Twilio POSTs them as forms).
accesslog = "-"
errorlog = "-"
loglevel = setting("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%({x-forwarded-for}i)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# gunicorn logs the path decoded: a %0a in it would start a forged line, a %00 write a NUL.
# Every value is escaped (\n, \x00) as the line's own logs are (intake/infra/access_log.py).
logger_class = "intake.infra.access_log.AccessLogger"

# Not preload_app: the line opens database connections while it starts, and a pool must
# not be shared by forked processes. Each worker builds its own line.
preload_app = False
# No control socket (gunicorn 25.1+ opens one for `gunicornc` under $XDG_RUNTIME_DIR or
# ~/.gunicorn/): nothing here uses it (the unit reloads with HUP), the service's home is
# read-only under systemd's ProtectSystem=strict, and two gunicorns on one host would share
# the one default path.
control_socket_disable = True
# The heartbeat file on a tmpfs, so a slow disk cannot make a healthy worker look stuck.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


# /metrics counts every worker (prometheus-client's multiprocess mode): each worker writes
# its counters to files in one folder, and a scrape answered by any worker adds them up.
# The folder belongs to this gunicorn alone and starts empty: PROMETHEUS_MULTIPROC_DIR if
# set (its old files are removed at start: a restart begins from zero, as Prometheus
# expects of counters), else a new temporary folder (under systemd's PrivateTmp, the
# service's own /tmp), removed when gunicorn exits. Workers inherit it (no preload_app:
# prometheus-client is first imported after the fork).
def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.unlink(os.path.join(folder, name))
    else:
        folder = tempfile.mkdtemp(prefix="intake-metrics-")
        server.intake_metrics_dir = folder
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def child_exit(server, worker):
    """A worker that ended: its live gauges go (its counters stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    made = getattr(server, "intake_metrics_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
