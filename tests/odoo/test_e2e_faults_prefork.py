"""Fault injection on a real prefork Odoo: the metrics hold in the shapes production takes.

- traffic in three tenants while HTTP workers are SIGKILLed at random moments and three scrapers
  read the dedicated metrics port at once: per-tenant counts are exact (answered, plus at most
  the requests that failed at a kill) and no counter sample ever decreases in any scraper's sequence;
- two instances started on one metrics directory never mix their counts, and a second start
  whose port is taken never touches the live instance;
- a full filesystem under the metrics directory: Odoo serves on, no worker dies, drops are counted.

Each test is bounded (a few seconds of traffic, timeouts on every request).
"""

import contextlib
import itertools
import os
import random
import signal
import subprocess
import threading
import time

import odoo_harness
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.odoo, pytest.mark.slow]
TAG = "lotest_flt"
ROUTE = "/web/login"


def parse(text):
    """Samples by name and labels; an empty label is no label (as Prometheus stores it)."""
    return {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if v))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def requests_of(scraped, db):
    """A tenant's answered requests (per tenant without route or method at the default detail level)."""
    return scraped.get(
        ("odoo_http_requests_total", tuple(sorted({"tenant": db, "status": "2xx"}.items()))),
        0.0,
    )


def tenant_get(srv, db, path=ROUTE, timeout=20):
    return requests.get(
        srv.url + path,
        headers={"Host": "%s.localhost:%s" % (db, srv.http_port)},
        timeout=timeout,
        allow_redirects=False,
    )


def http_workers(srv):
    return sorted(pid for pid, args in srv.children() if "gevent" not in args)


@pytest.fixture(scope="module")
def three_tenants(base_template):
    names = [odoo_harness.clone_db(base_template, "%s_%s" % (TAG, x)) for x in ("a", "b", "c")]
    yield names
    for name in names:
        odoo_harness.drop_db(name)


MONOTONIC = ("_total", "_count", "_bucket")


def test_sigkills_and_concurrent_scrapers_keep_counts_exact_and_monotonic(three_tenants):
    metrics_port = odoo_harness.free_port()
    srv = odoo_harness.OdooServer(
        workers=3,
        max_cron_threads=0,
        dbfilter="^%d$",
        options={"limit_request": 25, "observability_metrics_port": metrics_port},
        env={"ODOO_HTTP_SOCKET_TIMEOUT": "20"},
    )
    metrics_url = "http://127.0.0.1:%s/metrics" % metrics_port
    rnd = random.Random(11)
    with srv:
        for db in three_tenants:  # registries loaded before the clock starts
            assert tenant_get(srv, db, timeout=60).status_code == 200
        base = parse(requests.get(metrics_url, timeout=10).text)
        answered = {db: 0 for db in three_tenants}
        failed = {db: 0 for db in three_tenants}
        stop = threading.Event()
        lock = threading.Lock()

        def client(db):
            while not stop.is_set():
                try:
                    ok = tenant_get(srv, db).status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    if ok:
                        answered[db] += 1
                    else:
                        failed[db] += 1

        sequences = [[] for _ in range(3)]
        scrape_errors = []

        def scraper(seq):
            while not stop.is_set():
                try:
                    r = requests.get(metrics_url, timeout=10)
                    if r.status_code != 200:
                        scrape_errors.append(r.status_code)
                        continue
                    seq.append({k: v for k, v in parse(r.text).items() if k[0].endswith(MONOTONIC)})
                except requests.RequestException as exc:
                    scrape_errors.append(repr(exc))

        kills = []

        def killer():
            for _ in range(5):
                if stop.wait(rnd.uniform(0.8, 1.6)):
                    return
                pids = http_workers(srv)
                if pids:
                    victim = rnd.choice(pids)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(victim, signal.SIGKILL)
                        kills.append(victim)

        threads = (
            [threading.Thread(target=client, args=(db,)) for db in three_tenants for _ in range(2)]
            + [threading.Thread(target=scraper, args=(seq,)) for seq in sequences]
            + [threading.Thread(target=killer)]
        )
        for t in threads:
            t.start()
        time.sleep(9)
        stop.set()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        # the master respawns the killed workers; then the answer is final
        deadline = time.time() + 30
        while len(http_workers(srv)) < 3 and time.time() < deadline:
            time.sleep(0.3)
        final = parse(requests.get(metrics_url, timeout=10).text)
        assert len(kills) >= 3, kills
        assert not scrape_errors, scrape_errors[:5]
        for db in three_tenants:
            got = requests_of(final, db) - requests_of(base, db)
            assert answered[db] >= 3, answered
            assert answered[db] <= got <= answered[db] + failed[db], (db, got, answered, failed)
        for i, seq in enumerate(sequences):
            assert len(seq) >= 5, "scraper %d got only %d answers" % (i, len(seq))
            for prev, cur in itertools.pairwise(seq):
                for key, old in prev.items():
                    assert cur.get(key, 0.0) >= old, (i, key, old, cur.get(key))


def test_two_instances_on_one_directory_never_mix(three_tenants, tmp_path):
    shared = str(tmp_path / "shared-metrics")
    a, b, _c = three_tenants
    one = odoo_harness.OdooServer(
        workers=2, max_cron_threads=0, dbfilter="^%d$", options={"observability_metrics_dir": shared}
    )
    two = odoo_harness.OdooServer(
        workers=2, max_cron_threads=0, dbfilter="^%d$", options={"observability_metrics_dir": shared}
    )
    with one, two:
        for _ in range(6):
            assert tenant_get(one, a, timeout=60).status_code == 200
        for _ in range(2):
            assert tenant_get(two, a, timeout=60).status_code == 200
            assert tenant_get(two, b, timeout=60).status_code == 200
        got_one = parse(requests.get(one.url + "/metrics", timeout=10).text)
        got_two = parse(requests.get(two.url + "/metrics", timeout=10).text)
        assert requests_of(got_one, a) == 6 and requests_of(got_one, b) == 0
        assert requests_of(got_two, a) == 2 and requests_of(got_two, b) == 2
        log = two.log_file.read_text()
        lines = [x for x in log.splitlines() if "observability_metrics_dir" in x]
        assert len(lines) == 1 and shared in lines[0], lines
        assert "observability_metrics_dir" not in one.log_file.read_text()
        # a second start of instance one's own configuration: its port is taken, it must exit
        # without wiping or adding to the live instance's directory
        before = sorted(os.listdir(shared))
        conf = one.write_config()
        cmd = [*odoo_harness.odoo_cmd(), "-c", str(conf), "--logfile=" + str(tmp_path / "3.log")]
        third = subprocess.Popen(
            cmd,
            cwd=odoo_harness.ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            third.wait(90)
        except subprocess.TimeoutExpired:
            pass
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(third.pid, signal.SIGKILL)
            third.wait(10)
        assert sorted(os.listdir(shared)) == before
        again = parse(requests.get(one.url + "/metrics", timeout=10).text)
        assert requests_of(again, a) == 6
        assert requests_of(again, b) == 0
        assert tenant_get(one, a).status_code == 200  # still serving, still counting
        assert requests_of(parse(requests.get(one.url + "/metrics", timeout=10).text), a) == 7


def test_full_filesystem_under_the_metrics_directory(three_tenants, tmp_path):
    a, _b, _c = three_tenants
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): %s" % mounted.stderr.strip())
    try:
        srv = odoo_harness.OdooServer(
            workers=2,
            max_cron_threads=0,
            dbfilter="^%d$",
            options={"observability_metrics_dir": str(mnt / "m")},
        )
        with srv:
            assert tenant_get(srv, a, timeout=60).status_code == 200
            workers = http_workers(srv)
            fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * 65536):
                    pass
            os.close(fd)
            first = requests_of(parse(requests.get(srv.url + "/metrics", timeout=10).text), a)
            # a worker replaced while the disk is full takes over its slot (or records nothing),
            # it never dies of SIGBUS: no crash loop
            os.kill(workers[0], signal.SIGKILL)
            deadline = time.time() + 30
            while (len(http_workers(srv)) < 2 or workers[0] in http_workers(srv)) and time.time() < deadline:
                time.sleep(0.3)
            respawned = http_workers(srv)
            assert len(respawned) == 2, respawned
            paths = [
                ROUTE,
                "/web/webclient/version_info",
                "/web/health",
                "/web/database/selector",
                "/nothing/here",
            ] + ["/x%d" % i for i in range(40)]
            for path in paths * 2:  # new series on a full disk, served by both workers
                r = tenant_get(srv, a, path)
                assert r.status_code < 500, (path, r.status_code)
            assert http_workers(srv) == respawned, "a worker died on the full filesystem"
            r = requests.get(srv.url + "/metrics", timeout=10)
            assert r.status_code == 200
            got = parse(r.text)
            assert requests_of(got, a) >= first >= 1  # nothing recorded before is lost
            assert ("odoo_metrics_dropped_series_total", (("reason", "no_space"),)) in got
            log = srv.log_file.read_text()
            assert "Bus error" not in log and "SIGBUS" not in log
            os.unlink(mnt / "filler")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
