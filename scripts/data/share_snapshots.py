"""Decide, for one NFS share, whether a snapshot is due and which snapshots are past retention.

Input: the JSON of ``az storage share-rm list --include-snapshot`` (the Storage resource provider's
"File Shares - List" with ``$expand=snapshots``, learn.microsoft.com/rest/api/storagerp/file-shares/list): the
base share has no ``snapshotTime``, each snapshot carries one (top level in the CLI's flattened output, under
``properties`` in the REST shape; both are read). Output: ``{"take": bool, "delete": [snapshotTime, ...]}``.
Stdlib only: it runs on the hub's agents before the model's virtualenv matters.

    python scripts/data/share_snapshots.py --share iom --interval-hours 4 --retention-days 30 < list.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

# A run that starts a little early (queue jitter) still takes its snapshot.
SLACK = timedelta(minutes=30)


def _time(item: dict[str, Any]) -> str | None:
    return item.get("snapshotTime") or (item.get("properties") or {}).get("snapshotTime")


def parse_time(value: str) -> datetime:
    """ISO 8601 with 7 fractional digits and Z, as Azure returns it; Python wants at most 6."""
    value = value.replace("Z", "+00:00")
    if "." in value:
        head, tail = value.split(".", 1)
        digits = tail[: tail.index("+")] if "+" in tail else tail
        value = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    return datetime.fromisoformat(value)


def snapshots(items: list[dict[str, Any]], share: str) -> list[str]:
    """The snapshot times of ``share``, oldest first (other shares and the base share are ignored)."""
    times = [t for item in items if item.get("name") == share and (t := _time(item))]
    return sorted(times, key=parse_time)


def decide(items: list[dict[str, Any]], share: str, now: datetime, interval_hours: int, retention_days: int):
    times = snapshots(items, share)
    latest = parse_time(times[-1]) if times else None
    take = latest is None or now - latest >= timedelta(hours=interval_hours) - SLACK
    cutoff = now - timedelta(days=retention_days)
    old = [t for t in times if parse_time(t) < cutoff]
    # Never prune the newest snapshot, even if the job has not run for longer than the retention.
    delete = old if take or len(old) < len(times) else old[:-1]
    return {"take": take, "delete": delete}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", required=True)
    parser.add_argument("--interval-hours", type=int, required=True)
    parser.add_argument("--retention-days", type=int, required=True)
    parser.add_argument("--now", help="UTC ISO 8601; default: the clock")
    args = parser.parse_args(argv)
    now = parse_time(args.now) if args.now else datetime.now(UTC)
    print(json.dumps(decide(json.load(sys.stdin), args.share, now, args.interval_hours, args.retention_days)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
