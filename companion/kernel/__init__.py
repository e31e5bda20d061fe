"""What runs in the learner's kernel when a lesson runs: the lesson's widgets (checklist, players,
self-checks, review, answers) and the sender that passes ticks to a class hub. Imports nothing from
`builder`, `server` or `hub`: a browser-only Python (the JupyterLite site) loads only this, `learner`
and `course`."""
