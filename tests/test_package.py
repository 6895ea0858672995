"""The deployment package's merge template: tables from infra/, functions referring to them,
sized, and sweepers one at a time. (``make package`` runs ``chalice package`` and cfn-lint.)"""

from __future__ import annotations

from infra.package import API, SWEEPER, function_names, merge_template
from infra.tables import TABLES


def test_every_function_chalice_emits_is_sized_and_every_schedule_is_a_sweeper() -> None:
    functions = function_names()
    assert functions["APIHandler"] == API
    assert functions["SweepPayments"] == SWEEPER
    assert functions["ExpirePendingTransfers"] == SWEEPER
    assert API.timeout_s <= 29  # API Gateway stops waiting at 29 s
    assert SWEEPER.reserved == 1


def test_functions_refer_to_the_tables_of_the_template() -> None:
    resources = merge_template("prod", function_names())["Resources"]
    for spec in TABLES:
        assert resources[spec.logical_name]["Type"] == "AWS::DynamoDB::Table"
        assert resources[spec.logical_name]["UpdateReplacePolicy"] == "Retain"
    for name in function_names():
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables == {spec.env_var: {"Ref": spec.logical_name} for spec in TABLES}
    assert resources["SweepPayments"]["Properties"]["ReservedConcurrentExecutions"] == 1
    assert "ReservedConcurrentExecutions" not in resources["APIHandler"]["Properties"]
