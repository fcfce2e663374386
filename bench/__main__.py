"""``python -m bench [NAME ...]``: run the benchmarks (all by default), print the table and
merge the medians into var/bench/results.json."""

from __future__ import annotations

import logging
import sys

from bench import builds, transfers
from bench.common import RESULTS, RUNS, SCALE, Result, logger, save_results, table


def main(names: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    benchmarks = {**builds.BENCHMARKS, **transfers.BENCHMARKS}
    unknown = [name for name in names if name not in benchmarks]
    if unknown:
        logger.error("unknown benchmark %s; choose from %s", unknown, ", ".join(benchmarks))
        return 2
    chosen = names or list(benchmarks)
    logger.info("bench: %s, scale %s, %d runs each", ", ".join(chosen), SCALE, RUNS)
    if any(name.startswith("build_") for name in chosen):
        builds.prepare_stack()
    results: list[Result] = []
    for name in chosen:
        logger.info("%s ...", name)
        result = benchmarks[name]()
        results.append(result)
        save_results([result])
        logger.info("%s", table([result]))
    logger.info("\n%s\n\nwritten to %s", table(results), RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
