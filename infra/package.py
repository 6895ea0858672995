"""The deployment package of a stage: ``chalice package`` with the tables merged from infra/.

    python -m infra.package prod          # writes build/prod/ (sam.json, deployment.zip)

The merge template adds the tables of ``infra.tables`` (kept on stack deletion and
replacement, deletion-protected), the WAF rate rule of ``infra.edge`` on the public routes and
the audit's resources of ``infra.audit`` (the write-once digest bucket, its signing key, the
export bucket, the ledger-breaks alarm); it points every function at the tables with ``Ref``
instead of the names in ``config.json``, names the functions the app invokes by name as
``config.json`` and the policy do, and sizes each function: the API answers within API
Gateway's 29 s, and every scheduled sweeper runs one at a time (reserved concurrency 1), so
two sweeps never race over the same payments.
``make package`` then checks the result with cfn-lint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import audit, edge
from infra.tables import TABLES, cloudformation_resources

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Size:
    memory_mb: int
    timeout_s: int
    reserved: int | None = None
    # the name the function is invoked by (an asynchronous Lambda invoke); CloudFormation
    # would otherwise make one up that neither config.json nor the policy can know
    invoked_as: str | None = None


API = Size(memory_mb=512, timeout_s=29)  # API Gateway gives up at 29 s
SWEEPER = Size(memory_mb=512, timeout_s=300, reserved=1)  # one sweep at a time
LONG_RUN = 900  # Lambda's longest: an export, or a slice of the daily ledger check


def invoked_functions(stage: str) -> dict[str, Size]:
    """The functions the app invokes by name, with their sizes: the export (rows stream, so
    its memory does not grow with the export) and the daily check's continuation, one slice at
    a time so a duplicated hand-over waits rather than races."""
    return {
        "RunExport": Size(512, LONG_RUN, invoked_as=audit.export_function_name(stage)),
        "ContinueLedgerCheck": Size(
            512, LONG_RUN, reserved=1, invoked_as=audit.ledger_check_function_name(stage)
        ),
    }


def function_names(stage: str = "prod") -> dict[str, Size]:
    """The logical name of every function ``chalice package`` emits for the app, with its size:
    the API handler, one function per schedule and each function invoked by name, named as
    Chalice names them."""
    from chalice.app import CloudWatchEventConfig, ScheduledEventConfig
    from chalice.utils import to_cfn_resource_name

    from app import app

    names = {"APIHandler": API}
    for source in app.event_sources:
        if isinstance(source, CloudWatchEventConfig | ScheduledEventConfig):
            names[to_cfn_resource_name(source.name)] = SWEEPER
    # the daily check hands over to its continuation well before this timeout
    names["DailyLedgerCheck"] = Size(512, LONG_RUN, reserved=1)
    invoked = invoked_functions(stage)
    for function in app.pure_lambda_functions:
        names[to_cfn_resource_name(function.name)] = invoked[to_cfn_resource_name(function.name)]
    return names


def merge_template(stage: str, functions: dict[str, Size]) -> dict[str, Any]:
    """What ``chalice package --merge-template`` adds to the stage's template."""
    resources = cloudformation_resources(stage)["Resources"]
    resources |= edge.stage_resources(stage)["Resources"]  # the WAF rate rule on public routes
    resources |= audit.cloudformation_resources(stage)["Resources"]  # digests, exports, alarm
    tables = {spec.env_var: {"Ref": spec.logical_name} for spec in TABLES}
    for name, size in functions.items():
        properties: dict[str, Any] = {
            "MemorySize": size.memory_mb,
            "Timeout": size.timeout_s,
            "Environment": {"Variables": tables},
        }
        if size.reserved is not None:
            properties["ReservedConcurrentExecutions"] = size.reserved
        if size.invoked_as is not None:
            properties["FunctionName"] = size.invoked_as
        resources[name] = {"Properties": properties}
    return {"Resources": resources}


def package(stage: str, out: Path) -> Path:
    """Run ``chalice package`` for ``stage`` into ``out``; returns the template's path."""
    out.mkdir(parents=True, exist_ok=True)
    merge = out.parent / f"merge-{stage}.json"
    merge.write_text(json.dumps(merge_template(stage, function_names(stage)), indent=2))
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-east-1")}
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(
        [str(chalice), "package", "--stage", stage, "--pkg-format", "cloudformation",
         "--merge-template", str(merge), str(out)],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    return out / "sam.json"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    stage = argv[0]
    print(package(stage, ROOT / "build" / stage))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
