"""``odoo-bin observability_backup``: report a backup or restore drill from a backup job.

Example, at the end of a nightly ``pg_dump`` job::

    odoo-bin --addons-path=... observability_backup -c /etc/odoo.conf -d tenant1 \\
        --kind full --status success --started-at 2025-01-31T02:00:00Z \\
        --ended-at 2025-01-31T02:07:12Z --size-bytes 123456789 \\
        --location s3://backups/tenant1/2025-01-31.dump --checksum-verified

Exit status: 0 recorded, 2 bad arguments (the message names the field), 1 other errors.
"""

import argparse
import datetime
import json
import logging
import sys

import odoo

# Absolute imports: Odoo 19.0 loads cli/<command>.py as odoo.cli.<command>, outside this package.
from odoo.addons.logistics_observability.core import (  # pylint: disable=odoo-addons-relative-import
    backup_reports,
    backup_status,
)
from odoo.cli import Command

_logger = logging.getLogger(__name__)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="odoo-bin observability_backup", description="Record a backup or restore drill of a database."
    )
    parser.add_argument("-c", "--config", dest="config", help="Odoo configuration file")
    parser.add_argument(
        "-d",
        "--database",
        dest="database",
        action="append",
        required=True,
        help="database the backup belongs to (repeat for several)",
    )
    parser.add_argument("--kind", required=True, choices=backup_status.KINDS)
    parser.add_argument("--status", required=True, choices=backup_status.STATUSES)
    parser.add_argument("--started-at", required=True, help="ISO 8601 (UTC when no offset)")
    parser.add_argument("--ended-at")
    parser.add_argument("--size-bytes", type=int)
    parser.add_argument("--location", default="")
    parser.add_argument("--checksum-verified", action="store_true")
    parser.add_argument("--restore-verified", action="store_true")
    parser.add_argument("--message", default="")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the result as JSON")
    return parser


def _utc_when_naive(text):
    """The command line documents "UTC when no offset"; the API always wants the offset."""
    try:
        parsed = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return text  # the validator names the field
    return text if parsed.tzinfo else text.strip() + "+00:00"


def report_from_args(args):
    report = {
        "kind": args.kind,
        "status": args.status,
        "started_at": _utc_when_naive(args.started_at),
        "location": args.location,
        "checksum_verified": args.checksum_verified,
        "restore_verified": args.restore_verified,
        "message": args.message,
    }
    if args.ended_at:
        report["ended_at"] = _utc_when_naive(args.ended_at)
    if args.size_bytes is not None:
        report["size_bytes"] = args.size_bytes
    return backup_reports.validate_report(report)


class ObservabilityBackup(Command):
    """Record a backup / restore drill in logistics_observability (for backup jobs)"""

    name = "observability_backup"

    def run(self, cmdargs):
        parser = build_parser()
        args, odoo_args = parser.parse_known_args(cmdargs)
        try:
            values = report_from_args(args)
        except backup_reports.ReportError as exc:
            sys.stderr.write("observability_backup: invalid %s: %s\n" % (exc.field, exc.message))
            sys.exit(2)
        config_args = (["-c", args.config] if args.config else []) + odoo_args
        odoo.tools.config.parse_config(config_args, setup_logging=True)
        results = {}
        for dbname in args.database:
            registry = odoo.modules.registry.Registry(dbname)
            with registry.cursor() as cr:
                env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                if "logistics.backup.run" not in env:
                    sys.stderr.write(
                        "observability_backup: logistics_observability is not installed in %s\n" % dbname
                    )
                    sys.exit(1)
                run = env["logistics.backup.run"]._ingest([values], source="cli")
                results[dbname] = run.id
        if args.as_json:
            sys.stdout.write(json.dumps({"recorded": results}) + "\n")
        else:
            for dbname, run_id in results.items():
                sys.stdout.write(
                    "recorded %s %s run %s in %s\n" % (values["kind"], values["status"], run_id, dbname)
                )
