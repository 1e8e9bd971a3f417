"""Running the suites with Great Expectations (GX Core 1.x), offline and quiet.

A file-backed GX project lives under ``$DAILYSEG_HOME/gx``; its Data Docs site is built into
``$DAILYSEG_HOME/data_docs``. Usage analytics are switched off before GX is imported and progress
bars are off, so a validation makes no network call and prints nothing of its own. Pandas frames are
validated in memory; on PostgreSQL the statement frame is validated where it lies, in SQL. The
warehouse URL, password included, never enters the GX project files nor any environment: the project
names it as a config variable, and GX takes its value from the context's runtime environment, a
dictionary of this process that nothing is copied from.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ["GX_ANALYTICS_ENABLED"] = "false"  # before GX is imported anywhere in this process

_GX_URL_VARIABLE = "DAILYSEG_GX_CONNECTION"
_PANDAS_SOURCE = "dailyseg_frames"
_SQL_SOURCE = "dailyseg_warehouse"


@dataclass
class SuiteOutcome:
    """What GX said about one suite: per expectation, its meta and its unexpected rows."""

    suite: str
    evaluated: int = 0
    failed: list[tuple[dict, list[dict]]] = field(default_factory=list)  # (meta, unexpected rows)
    results_json: dict = field(default_factory=dict)


def merge_outcomes(parts: list[SuiteOutcome], ranges: list[tuple]) -> SuiteOutcome:
    """One suite run over several End Date ranges, as one outcome: its expectations counted once, the
    failures of every range, and the results of each range (with its dates) in the JSON."""
    if len(parts) == 1:
        return parts[0]
    merged = SuiteOutcome(suite=parts[0].suite, evaluated=max(p.evaluated for p in parts))
    for part in parts:
        merged.failed += part.failed
    merged.results_json = {"ranges": [{"from": str(lo), "to": str(hi), **part.results_json}
                                      for part, (lo, hi) in zip(parts, ranges)]}
    return merged


def _quiet_gx_logging() -> None:
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _import_gx():
    _quiet_gx_logging()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    return gx, gxe


class GXRunner:
    def __init__(self, home: Path, data_docs: Path):
        gx, _ = _import_gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig
        self.gx = gx
        home.mkdir(parents=True, exist_ok=True)
        _start_from_fresh_config(home / "gx")
        # config variables given here win over the environment; GX keeps this very dictionary
        self.context = gx.get_context(mode="file", project_root_dir=str(home), runtime_environment={})
        variables = self.context.variables
        variables.progress_bars = ProgressBarsConfig(globally=False)
        variables.analytics_enabled = False
        variables.data_docs_sites = {"local_site": {
            "class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs.resolve())},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }}
        variables.save()
        self.data_docs = data_docs.resolve()
        self._checkpoints: dict = {}  # the checkpoint of each suite this runner has stored
        self._pandas_source = None
        self._validated: list = []  # the identifiers of the validation results stored by this runner

    # -- suites ---------------------------------------------------------------------------------------
    def _suite(self, name: str, specs: list[dict]):
        from great_expectations.expectations.registry import get_expectation_impl
        # All expectations at construction: adding them one by one to a suite the project already holds
        # rewrites the stored suite after each one (seconds for a hundred expectations).
        expectations = [get_expectation_impl(spec["type"])(**spec["kwargs"], meta=spec["meta"]) for spec in specs]
        return self.context.suites.add_or_update(self.gx.ExpectationSuite(name=name, expectations=expectations))

    def _checkpoint(self, name: str, batch_definition, suite, index_columns: list[str]):
        definition = self.context.validation_definitions.add_or_update(
            self.gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
        return self.context.checkpoints.add_or_update(self.gx.Checkpoint(
            name=name, validation_definitions=[definition],
            actions=[],  # the Data Docs are built once per run (build_data_docs): per check it cost seconds
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index_columns}))

    # -- running ---------------------------------------------------------------------------------------
    def validate_frame(self, suite_name: str, specs: list[dict], frame, index_columns: list[str],
                       run_name: str) -> SuiteOutcome:
        """Validate a pandas DataFrame in memory."""
        checkpoint = self._checkpoints.get(suite_name)
        if checkpoint is None:  # once per suite and process: storing it again costs a second or two
            if self._pandas_source is None:  # once: updating the source again drops the assets it holds
                self._pandas_source = self.context.data_sources.add_or_update_pandas(_PANDAS_SOURCE)
            source = self._pandas_source
            asset = _get_or_add(source, suite_name, lambda: source.add_dataframe_asset(suite_name))
            batch = _get_or_add_batch(asset, "whole", lambda: asset.add_batch_definition_whole_dataframe("whole"))
            checkpoint = self._checkpoints[suite_name] = self._checkpoint(
                suite_name, batch, self._suite(suite_name, specs), index_columns)
        result = checkpoint.run(batch_parameters={"dataframe": frame},
                                run_id=self.gx.RunIdentifier(run_name=run_name))
        self._validated += list(result.run_results)
        return _outcome(suite_name, result)

    def validate_table(self, suite_name: str, specs: list[dict], url: str, table: str, index_columns: list[str],
                       run_name: str) -> SuiteOutcome:
        """Validate a table of the PostgreSQL warehouse, GX pushing every metric down as SQL."""
        self.context.runtime_environment[_GX_URL_VARIABLE] = url
        checkpoint = self._checkpoints.get((suite_name, url, table))
        if checkpoint is None:
            source = self.context.data_sources.add_or_update_postgres(
                _SQL_SOURCE, connection_string="${" + _GX_URL_VARIABLE + "}")
            asset = _get_or_add(source, table, lambda: source.add_table_asset(table, table_name=table))
            batch = _get_or_add_batch(asset, "whole", lambda: asset.add_batch_definition_whole_table("whole"))
            checkpoint = self._checkpoints[(suite_name, url, table)] = self._checkpoint(
                suite_name, batch, self._suite(suite_name, specs), index_columns)
        result = checkpoint.run(run_id=self.gx.RunIdentifier(run_name=run_name))
        self._validated += list(result.run_results)
        return _outcome(suite_name, result)

    def build_data_docs(self) -> None:
        """Render the pages of the validations this runner ran (and their suites), and the site's index,
        once: the index reads every stored result, so building it per check would cost a run seconds
        per range it checks. A stored result that cannot be read (a run killed while GX wrote it) is
        skipped by GX with a warning."""
        if self._validated:
            suites = {key.expectation_suite_identifier for key in self._validated}
            self.context.build_data_docs(resource_identifiers=[*self._validated, *suites])

    def docs_index(self) -> Path:
        return self.data_docs / "index.html"


#: What GX keeps of a project besides its results: all of it written again by every run (``GXRunner``).
_DERIVED_CONFIG = ("great_expectations.yml", "expectations", "checkpoints", "validation_definitions",
                   "uncommitted/config_variables.yml")


def _start_from_fresh_config(project: Path) -> None:
    """Remove the project's configuration, which every run writes again in full: GX writes its files
    in place (truncate, then write), so a run killed in one of those writes left an empty
    ``great_expectations.yml`` that every later run refused to open. Results are kept."""
    import shutil
    for name in _DERIVED_CONFIG:
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _get_or_add(source, name: str, add):
    try:
        return source.get_asset(name)
    except LookupError:
        return add()


def _get_or_add_batch(asset, name: str, add):
    try:
        return asset.get_batch_definition(name)
    except (KeyError, LookupError):
        return add()


def _outcome(suite_name: str, checkpoint_result: Any) -> SuiteOutcome:
    outcome = SuiteOutcome(suite=suite_name, results_json=checkpoint_result.describe_dict())
    for validation in checkpoint_result.run_results.values():
        for result in validation.results:
            if result.exception_info and result.exception_info.get("raised_exception"):
                message = result.exception_info.get("exception_message") or "unknown error"
                raise RuntimeError(f"GX could not evaluate {result.expectation_config.meta.get('check_id')}: "
                                   f"{message.splitlines()[0]}")
            outcome.evaluated += 1
            if not result.success:
                rows = result.result.get("unexpected_index_list") or []
                outcome.failed.append((dict(result.expectation_config.meta), list(rows)))
    return outcome
