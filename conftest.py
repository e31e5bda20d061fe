"""Keeps every test, and every kernel nbval starts, off the learner's own progress and trust
stores: the kernels inherit this environment."""

import os
import tempfile

_scratch = tempfile.mkdtemp(prefix="companion-tests-")
os.environ["COMPANION_PROGRESS"] = os.path.join(_scratch, "progress.sqlite")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(_scratch, "jupyter-data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_scratch, "cache")  # the lesson extras builds parsed
# Tests run on a JupyterHub must not send ticks to that hub's companion service.
for _hub_variable in ("JUPYTERHUB_API_TOKEN", "COMPANION_HUB_URL", "JUPYTERHUB_PUBLIC_HUB_URL"):
    os.environ.pop(_hub_variable, None)
