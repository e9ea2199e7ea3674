"""`clearsight verify-export PATH`: check an export package offline; exit 0 only when it is intact.

Exit status: 0 intact; 1 something does not match (each mismatch is printed: which file, expected, actual);
2 the package or the trusted key cannot be read at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from clearsight.export.errors import PackageUnreadable
from clearsight.export.verify import TrustAnchor, TrustAnchorError, VerificationReport, verify_package

EXIT_INTACT, EXIT_MISMATCH, EXIT_UNREADABLE = 0, 1, 2
DESCRIPTION = (
    "Check an export package (the .zip, or a directory it was unpacked into) without the platform: the "
    "Ed25519 signature over manifest.json, the size and SHA-256 of every file, and that no file is missing or "
    "added. Pass the platform's key (--public-key) or its fingerprint (--fingerprint; shown by "
    "GET /api/v1/exports/signing-key) to also check who signed it. Exit status: 0 intact, 1 something does not "
    "match (each mismatch is printed), 2 unreadable input."
)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="PATH", help="the package: a .zip or an unpacked directory")
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument("--public-key", type=Path, metavar="FILE",
                       help="the platform's public key (PEM, hex or raw) that must have signed the package")
    trust.add_argument("--fingerprint", metavar="HEX",
                       help="SHA-256 fingerprint (64 hex digits) of the key that must have signed the package")


def run_verify(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        anchor = _anchor(args)
        report = verify_package(args.path, anchor)
    except (TrustAnchorError, PackageUnreadable) as exc:
        print(f"clearsight verify-export: {exc}", file=err)
        return EXIT_UNREADABLE
    print_report(report, out)
    return EXIT_INTACT if report.intact else EXIT_MISMATCH


def _anchor(args: argparse.Namespace) -> TrustAnchor:
    if args.public_key is not None:
        return TrustAnchor.from_key_file(args.public_key)
    if args.fingerprint is not None:
        return TrustAnchor.from_fingerprint(args.fingerprint)
    return TrustAnchor()


def print_report(report: VerificationReport, out: TextIO) -> None:
    manifest = report.manifest
    if not report.intact:
        print(f"NOT INTACT: {report.path}: {len(report.findings)} problem(s)", file=out)
        for finding in report.findings:
            print(f"  {finding.subject}: {finding.problem}", file=out)
            if finding.expected is not None or finding.actual is not None:
                print(f"    expected: {finding.expected}", file=out)
                print(f"    actual:   {finding.actual}", file=out)
        return
    assert manifest is not None
    print(f"INTACT: {report.path}", file=out)
    print(f"  export {manifest.export_id} of platform {manifest.platform_id}, by {manifest.created_by}", file=out)
    print(f"  reason: {manifest.reason}", file=out)
    print(f"  range: {manifest.start} to {manifest.end}", file=out)
    print(f"  {report.files_checked} file(s) match their size and SHA-256; nothing missing, nothing added",
          file=out)
    if report.trusted:
        print(f"  signed by the trusted Ed25519 key {report.fingerprint}", file=out)
    else:
        print(f"  signed by the Ed25519 key in the package, fingerprint {report.fingerprint}", file=out)
        print("  note: that key was not checked against the platform's; pass --fingerprint or --public-key",
              file=out)
