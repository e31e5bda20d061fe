"""The contract of the files learners keep: cell roles, ids and metadata keys (`cells`), how a
rebuild keeps what a learner wrote (`merge`, `salvage`), and writes that never leave half a file
(`atomic`). Imports nothing else of the companion."""
