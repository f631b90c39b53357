"""grading: grade the course's assignments with plain pytest, offline, without Docker.

`python -m grading assign` writes the student copy, `grade` grades submissions, `check` lets a
student see their points so far. One module per job: `regions` (solution regions and stubs),
`assign` (the student copy), `submissions` (safe working copies), `runner` (one submission's
pytest run), `plugin` (markers, fixtures, the report), `fixtures` and `harness` (reaching
submission code in child processes), `reports` (results.json, feedback.md, grades.csv),
`batch` (many submissions), `manifest` (the instructor's configuration), `cli`.
The instructor's guide is grading/README.md.
"""
