"""Test impact analysis: record what each test runs, select the tests a change can affect.

Pytest-free. :mod:`blocks` finds a file's code blocks and fingerprints them;
a recorder (:func:`new_recorder`) records per test the code objects it entered;
:mod:`dependencies` turns those into block dependencies; :func:`select_tests`
decides, as a pure function, what a change can affect.
"""

from uetf_core.impact.blocks import (
    Block,
    BlockKind,
    FileBlocks,
    blocks_of_file,
    blocks_of_source,
    module_name,
)
from uetf_core.impact.change import change_of_work_tree
from uetf_core.impact.dependencies import BlockIndex, baseline_from_run
from uetf_core.impact.encoding import decode_ids, encode_ids, set_digest
from uetf_core.impact.environment import Environment, current_environment
from uetf_core.impact.project import ProjectFiles
from uetf_core.impact.recorder import (
    DependencyRecorder,
    EnteredCode,
    RecorderUnavailable,
    ScopeDependencies,
    new_recorder,
)
from uetf_core.impact.selection import (
    Baseline,
    BlockDependency,
    Change,
    Reason,
    SelectedTest,
    Selection,
    TestDependencies,
    WholeSuite,
    WholeSuiteReason,
    select_tests,
)

__all__ = [
    "Baseline",
    "Block",
    "BlockDependency",
    "BlockIndex",
    "BlockKind",
    "Change",
    "DependencyRecorder",
    "EnteredCode",
    "Environment",
    "FileBlocks",
    "ProjectFiles",
    "Reason",
    "RecorderUnavailable",
    "ScopeDependencies",
    "SelectedTest",
    "Selection",
    "TestDependencies",
    "WholeSuite",
    "WholeSuiteReason",
    "baseline_from_run",
    "blocks_of_file",
    "blocks_of_source",
    "change_of_work_tree",
    "current_environment",
    "decode_ids",
    "encode_ids",
    "module_name",
    "new_recorder",
    "select_tests",
    "set_digest",
]
