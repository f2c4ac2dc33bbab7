#!/usr/bin/env python3
"""deploy_run.py - run the commands of deploy/ as shipped (tests/cli/deploy.sh).

    deploy_run.py REPO VBATCH MEDIA REDIS_HOST:PORT PASSWORD

Reads deploy/docker-compose.yml and deploy/k8s/*.yaml, takes the command
each container would run (the image's entrypoint is vbatch; `sh -c`
strings are run by sh, with vbatch on PATH), its environment (compose's
${VAR:-default} and ${VAR:?message}, Kubernetes' value and secretKeyRef),
and runs it here, with only two substitutions: the Redis address the
files name (redis:6379, vbatch-redis:6379) becomes the test's, and the
volume's mount point /media becomes MEDIA. Then it checks what a deployment
relies on: the flows end well with every item once, and the names the
files share (queue, stream, consumer group, secrets, services) agree.
Prints ok:/FAIL: lines as testlib.sh does; exits 1 if a check failed.
"""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import yaml

repo, vbatch, media, redis_addr, password = sys.argv[1:6]
failures = 0


def check(desc, cond, detail=""):
    global failures
    if cond:
        print("ok: " + desc)
    else:
        failures += 1
        print("FAIL: %s%s" % (desc, (": " + detail) if detail else ""), file=sys.stderr)


def subst(s):
    s = re.sub(r"\b(vbatch-redis|redis):6379\b", redis_addr, s)
    return re.sub(r"(?<![\w.-])/media(?=/|\b)", media, s)


def compose_env(v):
    """compose's ${VAR:-default} and ${VAR:?msg}: the default, or the password."""
    def one(m):
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if name == "REDIS_PASSWORD":
            return password
        if op == ":-":
            return arg
        raise SystemExit("deploy_run.py: %s has no default" % name)
    return re.sub(r"\$\{(\w+)(:-|:\?)([^}]*)\}", one, v)


def environment(extra):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(vbatch)) + ":" + env["PATH"]
    env.pop("VBATCH_QUEUE", None)
    env.pop("VBATCH_REDIS_PASSWORD", None)
    env.update({k: subst(v) for k, v in extra.items()})
    return env


def argv_of(entrypoint, command, compose):
    """What the container runs: the image's ENTRYPOINT is vbatch."""
    if entrypoint:
        ep = list(entrypoint)
        if ep[:2] == ["sh", "-c"]:
            script = ep[2] if len(ep) > 2 else command[0]
            if compose:
                script = script.replace("$$", "$")
            return ["sh", "-c", subst(script)]
        raise SystemExit("deploy_run.py: entrypoint %r not understood" % ep)
    return [vbatch] + [subst(a) for a in command]


def run(name, argv, env, timeout=300, ok_codes=(0,)):
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True)
    check("%s (exit %d)" % (name, p.returncode), p.returncode in ok_codes,
          p.stderr.strip()[-600:])
    return p


def items_once(report, n):
    try:
        d = json.load(open(report))
    except (OSError, ValueError) as e:
        return False, str(e)
    names = [i["source"].rsplit("/", 1)[-1] for i in d["items"]]
    ok = len(names) == n and len(set(names)) == n and \
        all(i["status"] in ("done", "qc_failed") for i in d["items"])
    return ok, "%d items: %s" % (len(names), sorted(names))


def rcli(*args):
    host, port = redis_addr.rsplit(":", 1)
    env = dict(os.environ, REDISCLI_AUTH=password)
    return subprocess.run(["redis-cli", "--no-auth-warning", "-h", host, "-p", port] +
                          list(args), env=env, stdout=subprocess.PIPE, text=True).stdout


n_in = len(os.listdir(os.path.join(media, "in")))

# ---- docker-compose.yml: enqueue, N workers (--drain), report, status ----
compose = yaml.safe_load(open(os.path.join(repo, "deploy/docker-compose.yml")))
svc = compose["services"]


def service(name):
    s = svc[name]
    env = {k: compose_env(str(v)) for k, v in s.get("environment", {}).items()}
    return argv_of(s.get("entrypoint"), s.get("command", []), True), environment(env)


for need in ("redis", "enqueue", "worker", "report", "status"):
    check("compose: service %s" % need, need in svc)
check("compose: the workers wait for the enqueue",
      svc["worker"]["depends_on"]["enqueue"]["condition"] == "service_completed_successfully")
check("compose: the report waits for the workers",
      svc["report"]["depends_on"]["worker"]["condition"] == "service_completed_successfully")
check("compose: the workers drain and exit", "--drain" in svc["worker"]["command"])
rcli("FLUSHALL")
argv, env = service("enqueue")
run("compose: enqueue", argv, env)
argv, env = service("worker")
procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) for _ in range(2)]
for k, p in enumerate(procs):
    try:
        _, err = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    check("compose: worker %d drains (exit %d)" % (k + 1, p.returncode), p.returncode == 0,
          err.strip()[-600:])
argv, env = service("report")
run("compose: report", argv, env, ok_codes=(0, 1))
ok, why = items_once(os.path.join(media, "out/summary/batch_report.json"), n_in)
check("compose: every item of media/in once in media/out's report", ok, why)
thumbs = glob.glob(os.path.join(media, "out/*/thumbnails/*.jpg"))
check("compose: --thumbnails made thumbnails", len(thumbs) >= n_in, "%d" % len(thumbs))
argv, env = service("status")
p = run("compose: status", argv, env)
check("compose: status names the queue", "videos" in p.stdout, p.stdout[:300])

# ---- deploy/k8s: the manifests, their names, and the containers' commands ----
docs = []
for f in sorted(glob.glob(os.path.join(repo, "deploy/k8s/*.yaml"))):
    docs += [(os.path.basename(f), d) for d in yaml.safe_load_all(open(f)) if d]
by_kind = {}
for f, d in docs:
    by_kind.setdefault(d["kind"], []).append((f, d))
    check("k8s %s: %s %s in namespace vbatch" % (f, d["kind"], d["metadata"]["name"]),
          d["kind"] == "Namespace" or d["metadata"].get("namespace") == "vbatch")


def one(kind, name):
    for _, d in by_kind.get(kind, []):
        if d["metadata"]["name"] == name:
            return d
    return None


def container(d):
    spec = d["spec"]["template"]["spec"]
    return spec, spec["containers"][0]


def k8s_env(c):
    env = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            check("k8s: %s comes from the secret vbatch-redis" % e["name"],
                  ref["name"] == "vbatch-redis" and ref["key"] == "password")
            env[e["name"]] = password
    return env


def k8s_argv(c):
    if c.get("command"):
        return argv_of(c["command"], c.get("args", []), False)
    return argv_of(None, c.get("args", []), False)


worker = one("Deployment", "vbatch-worker")
check("k8s: the worker Deployment", worker is not None)
wspec, wc = container(worker)
wenv = k8s_env(wc)
queue = wenv.get("VBATCH_QUEUE", "")
qname = queue.rsplit("/", 1)[-1]
redis_svc = one("Service", "vbatch-redis")
check("k8s: the Redis Service the workers name", redis_svc is not None and
      queue.startswith("redis://vbatch-redis:%d/" % redis_svc["spec"]["ports"][0]["port"]), queue)
enq = one("Job", "vbatch-enqueue")
_, ec = container(enq)
eenv = k8s_env(ec)
check("k8s: the enqueue Job and the workers use one queue", eenv.get("VBATCH_QUEUE") == queue)

rcli("FLUSHALL")
run("k8s: the enqueue Job", k8s_argv(ec), environment(eenv))
groups = rcli("XINFO", "GROUPS", qname)
so = one("ScaledObject", "vbatch-worker")
trig = so["spec"]["triggers"][0]
md = trig["metadata"]
check("k8s: KEDA scales the worker Deployment", so["spec"]["scaleTargetRef"]["name"] ==
      worker["metadata"]["name"])
check("k8s: KEDA's redis-streams trigger reads the queue's stream",
      trig["type"] == "redis-streams" and md["stream"] == qname and
      rcli("TYPE", qname).strip() == "stream", "%s %s" % (md.get("stream"), qname))
check("k8s: KEDA's consumer group is the one vbatch made",
      md["consumerGroup"] in groups.split(), groups[:200])
check("k8s: KEDA's address is the Redis Service",
      md["address"] == "vbatch-redis.vbatch.svc.cluster.local:6379")
ta = one("TriggerAuthentication", trig["authenticationRef"]["name"])
check("k8s: KEDA's password from the secret the workers read",
      ta is not None and ta["spec"]["secretTargetRef"][0]["name"] == "vbatch-redis")
check("k8s: the worker waits as a service (no --drain)", "--drain" not in wc.get("args", []))
check("k8s: terminationGracePeriodSeconds leaves [batch] grace_period its time",
      wspec.get("terminationGracePeriodSeconds", 30) >= 30)

# The Deployment's worker, as a service: stopped with SIGTERM once the
# queue is drained, as a scale-down does.
wenv_run = environment(wenv)
p = subprocess.Popen(k8s_argv(wc), env=wenv_run, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
deadline = time.time() + 300
while time.time() < deadline and \
        int(rcli("XLEN", qname + ":results").strip() or 0) < n_in:
    time.sleep(0.2)
p.send_signal(signal.SIGTERM)
try:
    _, err = p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
    _, err = p.communicate()
check("k8s: the worker took every item", int(rcli("XLEN", qname + ":results").strip() or 0) ==
      n_in)
check("k8s: the worker stops on SIGTERM (exit %d)" % p.returncode, p.returncode in (0, 4),
      err.strip()[-600:])
rep = os.path.join(media, "out-k8s")
run("k8s: vbatch report --queue", [vbatch, "report", "--queue", subst(queue), "--output", rep],
    wenv_run, ok_codes=(0, 1))
ok, why = items_once(os.path.join(rep, "summary/batch_report.json"), n_in)
check("k8s: every item once in the queue's report", ok, why)

# The Indexed Job of shards: each index as JOB_COMPLETION_INDEX, then merged.
sj = one("Job", "vbatch-shards")
sspec, sc = container(sj)
check("k8s: the shards Job is Indexed", sj["spec"]["completionMode"] == "Indexed")
n = sj["spec"]["completions"]
check("k8s: --shard auto/N matches completions", ("auto/%d" % n) in " ".join(sc["args"]))
for k in range(n):
    # A shard the hash gives none of the items exits 0 too (a failed pod
    # would be run again, and fail the Job).
    run("k8s: shard %d of %d" % (k, n), k8s_argv(sc),
        environment(dict(k8s_env(sc), JOB_COMPLETION_INDEX=str(k))), ok_codes=(0, 1))
shards = [os.path.join(media, "shards", str(k)) for k in range(n)]
merged = os.path.join(media, "merged")
run("k8s: vbatch merge of the shards", [vbatch, "merge"] + shards + ["--output", merged],
    environment({}), ok_codes=(0, 1))
ok, why = items_once(os.path.join(merged, "summary/batch_report.json"), n_in)
check("k8s: every item once in the shards' merge", ok, why)
# A pod started again after its shard had finished: nothing redone.
for k in range(n):
    env = environment(dict(k8s_env(sc), JOB_COMPLETION_INDEX=str(k)))
    run("k8s: shard %d run again" % k, k8s_argv(sc), env, ok_codes=(0, 1))
    try:
        d = json.load(open(os.path.join(shards[k], "summary/batch_report.json")))
        st = [i["status"] for i in d["items"]]
    except (OSError, ValueError) as e:
        st = [str(e)]
    check("k8s: shard %d run again redid nothing" % k, all(x == "skipped" for x in st), str(st))

print("%d check(s) failed" % failures if failures else "all checks passed")
sys.exit(1 if failures else 0)
