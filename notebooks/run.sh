#!/usr/bin/env bash
# Executes every notebook headless (a cell that throws fails the run). Needs Debian's
# jupyter-nbconvert, python3-ipykernel and jupyter-client; the tslab kernel comes from npm.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v jupyter >/dev/null; then
  echo "notebooks: jupyter not found (apt-get install --no-install-recommends jupyter-nbconvert python3-ipykernel jupyter-client)" >&2
  exit 1
fi
prefix="$(cd .. && pwd)/.data/jupyter"
../node_modules/.bin/tslab install --python /usr/bin/python3 --binary "$(cd .. && pwd)/node_modules/.bin/tslab" --prefix "$prefix" >/dev/null
mkdir -p ../.data/notebooks
for nb in *.ipynb; do
  echo "notebooks: executing $nb"
  JUPYTER_PATH="$prefix/share/jupyter" jupyter nbconvert --to notebook --execute "$nb" \
    --ExecutePreprocessor.timeout=300 --output-dir ../.data/notebooks --log-level=WARN
done
