#!/usr/bin/env python3
"""The local stack for `./dev bench`: moto provisioned from template.yaml, exactly as
`infra/local/stack.py emulator --lifeline` starts it, with one more field in its JSON ready
line: `environments`, each function binary's environment as the local suite derives it
(`stakeline_local.suite.function_environments`: the template's variables, the names moto
provisioned, the local development secrets). It stops when its stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "infra" / "local"))

from stakeline_local import DEFAULT_TEMPLATE, log  # noqa: E402
from stakeline_local import emulator, suite  # noqa: E402
from stakeline_local.template import load_template  # noqa: E402


def main() -> int:
    emulator.isolate_from_real_aws()
    server, provisioned = emulator.start(port=0, stack=f"bench-{os.getpid()}")
    try:
        ready = provisioned.ready()
        ready["environments"] = suite.function_environments(load_template(DEFAULT_TEMPLATE), provisioned)
        print(json.dumps(ready), flush=True)
        why = emulator.wait_for_stop(lifeline=True)
        log(f"{why}: stopping the emulator")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
