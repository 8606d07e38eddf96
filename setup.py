"""Package discovery that pyproject.toml alone cannot express.

resources/ sits at the top of the repository (icons, styles, templates) and installs as the
package `llmgw_desktop.resources`, so importlib.resources finds it both in a wheel and in a
checkout; everything else is found under llmgw_desktop/ as usual.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["llmgw_desktop*"]), "llmgw_desktop.resources"],
    package_dir={"llmgw_desktop.resources": "resources"},
)
