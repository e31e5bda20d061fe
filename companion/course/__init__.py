"""The course as data: the catalog model read from `catalog.json` and checked, the notebook layout
it implies, the prompts and self-checks it asks. Read by every other folder; knows nothing of notebooks
except the ids of the cells it names (`companion.notebook.cells`)."""
