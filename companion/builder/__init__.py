"""The author's build: catalog → plan of notebooks → reconcile with what is on disk (keeping every
learner's work) → apply with atomic writes; its report. Runs on the command line, never in a kernel."""
