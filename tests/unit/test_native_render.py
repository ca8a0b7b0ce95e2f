"""``deploy/render_native.py`` (renders the shipped monitoring configs for a native run) refuses
unmapped addresses and bad input with a clear message (the rendered stack running:
tests/odoo/test_e2e_monitoring_stack.py)."""

import native_stack


def test_renderer_refuses_unmapped_addresses_and_bad_input(tmp_path):
    proc = native_stack.render(tmp_path, "--drop-job", "traefik", "--address", "odoo:9127=127.0.0.1:1")
    assert proc.returncode == 2 and "no local address for" in proc.stderr, proc.stderr
    proc = native_stack.render(tmp_path, "--drop-job", "nosuchjob")
    assert proc.returncode == 2 and "nosuchjob" in proc.stderr
    proc = native_stack.render(tmp_path, "--address", "odoo=127.0.0.1:1")
    assert proc.returncode == 2 and "SERVICE:PORT=HOST:PORT" in proc.stderr
