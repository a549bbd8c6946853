"""Every figure of survival.csv, orr.csv, dcr.csv, technique_efficacy.csv, subgroups.csv,
orr_preop.csv (PRE-2) and margin_ltp.csv (LTP by ablative margin) equals R's.

R (survival, cmprsk, geepack; installed by ``make test``) recomputes the statistics from the
endpoint columns alone on four simulated cohorts — n = 12, 120 and 668, and the 668 cohort with
times coarsened to quarters plus day-0 events (heavy ties) — with ``tests/r/crosscheck.R``.
One Rscript runs per cohort per session.  Figures agree within 1e-4, counts exactly, and a
missing value only where R gives NA (STAT-1 to STAT-6).  ``python tests/r_crosscheck.py`` prints
the tally.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import r_crosscheck as rc

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def comparisons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, rc.Comparison]:
    assert rc.rscript(), ("Rscript is required for the R cross-check (apt-get install "
                          "r-base-core r-cran-survival r-cran-cmprsk r-cran-geepack; make test "
                          "installs them)")
    root: Path = tmp_path_factory.mktemp("r-crosscheck")
    return {name: rc.check_cohort(name, root / name) for name in rc.COHORTS}


@pytest.mark.parametrize("name", rc.COHORTS)
def test_every_figure_equals_r_stat_1_to_6(comparisons: dict[str, rc.Comparison],
                                           name: str) -> None:
    result = comparisons[name]
    assert result.unmatched == [], "figures R did not recompute:\n" + "\n".join(result.unmatched)
    assert result.mismatches == [], "\n".join(result.mismatches)
    assert result.compared > 1500


@pytest.mark.parametrize("source", ["survfit", "coxph", "cox.zph", "survdiff", "cuminc",
                                    "finegray", "crr", "binom.test", "newcombe", "geeglm"])
def test_each_r_function_is_used_as_a_reference(comparisons: dict[str, rc.Comparison],
                                                source: str) -> None:
    seen = sum(c.by_source.get(source, (0, 0))[0] for c in comparisons.values())
    assert seen > 0, f"no figure was compared with R's {source}"


@pytest.mark.parametrize("table", ["survival", "ORR", "DCR", "TE", "subgroups", "orr_preop",
                                   "margin"])
def test_each_output_table_is_compared_with_r(comparisons: dict[str, rc.Comparison],
                                              table: str) -> None:
    """Every table R can recompute is compared, including the ORR to preoperative chemotherapy
    (binom.test) and LTP by margin band (survfit Aalen-Johansen; coxph with patient clusters,
    on seeded margins that include the 0, 5 and 10 mm band limits)."""
    seen = sum(c.by_table.get(table, (0, 0))[0] for c in comparisons.values())
    assert seen > 0, f"no figure of {table} was compared with R"
