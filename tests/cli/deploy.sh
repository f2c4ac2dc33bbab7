#!/bin/sh
# The deployment examples work as shipped: the commands of
# deploy/docker-compose.yml and deploy/k8s/*.yaml, taken from the files
# (tests/lib/deploy_run.py) and run here against a redis-server of the
# test's own with a password, the volume's /media a folder of the test:
# compose's enqueue, two draining workers, report and status; the
# Kubernetes enqueue Job, the worker Deployment's command stopped by
# SIGTERM once drained, the Indexed Job's shards (each index, one run
# again) and their merge; every item once in each report; and the names
# the files share agree (queue and KEDA's stream and consumer group, the
# Redis Service, the secret).
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/redis.sh"
"$PYTHON3" -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not installed"; exit 77; }
trap 'redis_stop' EXIT

PW=deploy-test-$$-secret
redis_start "$T/redis" --requirepass "$PW"
REDIS_AUTH=$PW
mkdir -p "$T/media/in"
for c in h264_aac_720p.mp4 vertical_1080x1920.mp4 silent_video.mp4; do
    cp "$(clip "$c")" "$T/media/in/$c" || exit 99
done
mkdir -p "$T/media/in/sub"
cp "$(clip h264_short.mp4)" "$T/media/in/sub/h264_short.mp4" || exit 99

"$PYTHON3" "$TOP_SRCDIR/tests/lib/deploy_run.py" "$TOP_SRCDIR" "$VBATCH" "$T/media" \
    "127.0.0.1:$REDIS_PORT" "$PW" || failures=$((failures + 1))
check "the password in no file the runs wrote" sh -c "! grep -rqF '$PW' '$T/media'"
finish
