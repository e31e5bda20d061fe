"""The Jupyter server extension: course notebooks open clean and keep their players and the
learner's work on save. Runs inside `jupyter lab` / `jupyter server`."""
