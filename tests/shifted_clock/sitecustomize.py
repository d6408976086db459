"""Shift this Python process's wall clock for a shifted test run (scripts/test-at.sh).

`scripts/test-at.sh` puts this folder first on PYTHONPATH, so every Python process of the run
(pytest, gunicorn, `signage serve`/`sync`) imports it at start-up and moves its clock by
`TEST_CLOCK_OFFSET_S` seconds from the real one. The offset is relative, so processes
started at different moments agree on the time. Only the wall clock moves (time.time,
datetime.now, date.today); the monotonic clock, and with it every timeout and sleep, stays real.
Redis and Chromium keep the machine's clock, as other hosts would.

(libfaketime cannot do this for CPython 3.11: with the monotonic clock faked, timed lock waits
hang; without, time.sleep fails with EINVAL.)
"""

import os
import time

_offset = os.environ.get("TEST_CLOCK_OFFSET_S")
if _offset:
    import time_machine

    _coordinates = time_machine.travel(time.time() + float(_offset), tick=True).start()
    # Starting takes a while (imports; up to a second on a busy machine) and the moved clock
    # lags the real one by that much: shift it back onto real + offset, so processes agree.
    _real = time_machine.escape_hatch.time.time()
    _coordinates.shift(_real + float(_offset) - time.time())
