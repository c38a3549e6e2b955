#!/bin/sh
# The image's entrypoint: one image, the role by command.
#   web            gunicorn -c gunicorn.conf.py wsgi:app (the Twilio webhooks)
#   worker         intake worker (the clock that sends texts; one or more)
#   anything else  an `intake` command: db upgrade, check, oncall list, ...
# Migrations run on demand, once per release, before the new web and workers start:
#   docker run --rm --env-file intake.env intake-line db upgrade
set -eu
APP="${INTAKE_APP_DIR:-/app}"
cd "$APP"
role="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$role" in
    web) exec python -m gunicorn -c "$APP/gunicorn.conf.py" "$@" wsgi:app ;;
    worker) exec python -m intake worker "$@" ;;
    *) exec python -m intake "$role" "$@" ;;
esac
