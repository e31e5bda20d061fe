"""What the companion keeps of a learner: one definition of each progress record (`records`), the
SQLite file they live in (`store`), the file that moves them between machines (`export`) and the
counts shown from them (`tally`). Used by the kernel, the Jupyter server, the command line and the
hub alike."""
