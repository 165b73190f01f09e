"""One BLAS/OpenMP thread per test: on a loaded shared machine, OpenMP's spinning threads
(histogram gradient boosting, XGBoost) otherwise slow tiny fits down ten-fold."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):
        yield
